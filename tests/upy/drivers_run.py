# Runs the board drivers against scripted fake pins and prints what they did.
# Executed by both CPython and the MicroPython Unix port; the outputs must match
# (the stepper loop is @micropython.native on MicroPython, plain Python on CPython).
from boards.drivers.button import DebouncedButton
from boards.drivers.stepper import StepDirStepper
from boards.drivers.watchdog import GatedWatchdog
from pump.ticks import TICKS_MASK, ticks_add


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Pin:
    def __init__(self, level):
        self.level = level
        self.count = 0
        self.handler = None

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self.count += 1

    def irq(self, handler=None, trigger=0):
        self.handler = handler

    def drive(self, level):
        if level != self.level:
            self.level = level
            self.handler(self)


clock = Clock(TICKS_MASK - 100)
pin = Pin(1)
button = DebouncedButton(pin, clock, 3)
out = []
# press with bounce, hold, release, then a quick tap between polls
script = [(0, 0), (2, 1), (3, 0), (5, 1), (7, 0), (60, None), (200, None), (210, 1),
          (300, None), (320, 0), (350, 1), (400, None), (500, None)]
for dt, level in script:
    clock.now = ticks_add(clock.now, dt)
    if level is None:
        out.append(1 if button.pressed() else 0)
    else:
        pin.drive(level)
print("button", out)

sleeps = []
step, direction, enable = Pin(0), Pin(0), Pin(1)
motor = StepDirStepper(step, direction, enable, sleeps.append, steps_per_pulse=6)
for _ in range(3):
    motor.pulse()
motor.retract(5)
print("stepper", motor.position(), step.count, direction.level, enable.level, len(sleeps))

fed = []


class Wdt:
    def feed(self):
        fed.append(clock.now)


class Task:
    def __init__(self, name):
        self.name = name
        self.last_run = clock.now


dog = GatedWatchdog(Wdt, clock)
delivery = Task("delivery")
dog.watch(delivery, 1500)
for i in range(40):
    clock.now = ticks_add(clock.now, 100)
    if i < 10:
        delivery.last_run = clock.now
    dog.feed()
print("watchdog", len(fed), dog.stale().name)
