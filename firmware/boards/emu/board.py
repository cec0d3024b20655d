"""The emulated board: the HAL of boards/hal.py over simulated hardware and virtual time.

Everything here is driven by the scenario and the plant model, never by the
application: the firmware sees only driver calls, as on a real board.
"""

import sys

from pump.compat import const, micropython
from pump.filestore import MemoryStore
from pump.ticks import TICKS_MASK

from boards import hal
from boards.drivers.watchdog import GatedWatchdog
from boards.emu import plantparams
from boards.emu.clock import VirtualClock
from boards.emu.plant import Plant

_NEVER = 0x3FFFFFFF  # no more edges (a small int on a 32-bit board too)
_HALF = const(0x20000000)  # pump.ticks


class EmuMotor(hal.Motor):
    def __init__(self, plant, battery):
        self.plant = plant
        self.battery = battery
        self.steps_per_pulse = plant.p["steps_per_pulse"]  # the plant's lead screw and gear
        self.push_ms = plant.p["pulse_ms"]  # how long the plant's motor takes per pulse
        self.steps = 0
        self.pulses = 0

    def pulse(self):
        steps = self.steps_per_pulse
        self.steps += steps
        self.pulses += 1
        self.battery.use_motor(steps)
        self.plant.pulse()

    def retract(self, steps):
        self.steps -= steps
        self.battery.use_motor(steps)
        self.plant.retract(steps)

    def position(self):
        return self.steps


class EmuPressure(hal.PressureSensor):
    def __init__(self, plant, clock):
        self.plant = plant
        self.clock = clock
        self._last = 0

    @micropython.native
    def read_raw(self):
        now = self.clock.now
        dt = now - self._last
        self._last = now
        plant = self.plant
        left = plant._left  # Plant.read's first lines, written out: a call less per reading
        if left and dt == plant._dt:
            plant._left = left - 1
            return plant._buf[plant._n - left]
        return plant.read(dt)  # step(dt) and read_counts(), read ahead in batches


class EmuButton(hal.Button):
    """Held during the scenario's press intervals [(start_ms, end_ms), ...] (sorted)."""

    def __init__(self, clock, intervals):
        self.clock = clock
        self.intervals = intervals
        self._next = 0
        self._level = False
        self._change = 0  # clock.now of the next edge: until then the level holds

    def press(self, start_ms, end_ms):
        """Hold the button from ``start_ms`` to ``end_ms`` (clock.now; after the last press)."""
        self.intervals.append((start_ms, end_ms))
        self._change = 0  # re-read the level at the next tick

    @micropython.native
    def pressed(self):
        now = self.clock.now
        if now < self._change:  # read every control tick: most ticks are between edges
            return self._level
        intervals = self.intervals
        while self._next < len(intervals) and intervals[self._next][1] <= now:
            self._next += 1
        if self._next < len(intervals):
            start, end = intervals[self._next]
            self._level = start <= now
            self._change = end if self._level else start
        else:
            self._level = False
            self._change = _NEVER
        return self._level


class EmuConnector(hal.Connector):
    def __init__(self, fitted, plant=None):
        self.fitted = fitted
        self.is_closed = True
        self.plant = plant  # a disconnect at the quick release opens the switch too

    @micropython.native
    def closed(self):
        plant = self.plant
        if plant is not None and plant.connector_open:  # read every control tick
            return False
        return self.is_closed


class EmuBuzzer(hal.Buzzer):
    def __init__(self):
        self.last = (0, 0)
        self.tones = 0

    def tone(self, freq_hz, ms):
        self.last = (freq_hz, ms)
        self.tones += 1

    def off(self):
        self.last = (0, 0)


class EmuLed(hal.Led):
    def __init__(self):
        self.on = False

    def set(self, on):
        self.on = on


class EmuBattery(hal.Battery):
    """A Li-ion cell: 4.2 V full to 3.2 V empty, linear in charge (ppm of full).

    Idle drain and motor steps use charge; a pump of this kind runs about 10
    days idle and loses about 1 % per 100 U pushed.
    """

    FULL_MV = 4200
    EMPTY_MV = 3200
    IDLE_PPM_PER_H = 400
    PPM_PER_STEP = 5

    def __init__(self, clock, percent):
        self.clock = clock
        self.charge = percent * 10000  # ppm
        self._motor_ppm = 0

    def set_percent(self, percent):
        self.charge = (
            percent * 10000 + self.clock.now * self.IDLE_PPM_PER_H // 3600000 + self._motor_ppm
        )

    def use_motor(self, steps):
        self._motor_ppm += steps * self.PPM_PER_STEP

    def millivolts(self):
        left = self.charge - self.clock.now * self.IDLE_PPM_PER_H // 3600000 - self._motor_ppm
        if left < 0:
            left = 0
        return self.EMPTY_MV + (self.FULL_MV - self.EMPTY_MV) * left // 1000000


class WatchdogCounter:
    """The emulated hardware watchdog's counter: if virtual time passes ``timeout_ms``
    without a feed (a hung task), the clock raises WatchdogReset at that instant
    (``clock.bite``, which the counter keeps at the last feed plus the timeout)."""

    def __init__(self, clock, timeout_ms):
        self.clock = clock
        self.timeout = timeout_ms
        self.feed()

    @micropython.native
    def feed(self):
        clock = self.clock
        clock.bite = clock.now + self.timeout


class EmuWatchdog(GatedWatchdog):
    """The real boards' gate (fed only while the watched tasks run) over the emulated
    counter, which runs from power-on as a board's does once started."""

    def __init__(self, clock, timeout_ms=4000):
        counter = WatchdogCounter(clock, timeout_ms)
        GatedWatchdog.__init__(self, lambda: counter, clock.ticks_ms)
        self.counter = counter
        self._clock = clock
        self._timeout = timeout_ms

    @micropython.native
    def feed(self, now=None):
        """``GatedWatchdog.feed`` with the counter fed inline when the gate has nothing to
        walk (the scheduler feeds after every task: the call would cost more than the feed)."""
        if now is None or self._walk or (
            ((now - self._alive_until + _HALF) & TICKS_MASK) - _HALF > 0
        ):
            GatedWatchdog.feed(self, now)  # walks the watched tasks; starts and feeds the counter
            return
        clock = self._clock
        clock.bite = clock.now + self._timeout

    def restart(self):
        """A board reset: the counter restarts and the watch list is lost with the RAM."""
        self.counter.feed()
        self.clear()


class NullLink(hal.Link):
    """No host attached (scenario runs): nothing to read, writes go nowhere."""

    connected = False

    def any(self):
        return 0

    def readinto(self, buf):
        return 0

    def write(self, data):
        return len(data)


FlashStore = MemoryStore  # the emulated board's flash for scenario runs (the vboard: littlefs2)


class EmuBoard(hal.Board):
    name = "emu"

    def __init__(self, scenario, out=None, speed=0):
        self.scenario = scenario
        self.out = out if out is not None else sys.stdout
        self.clock = VirtualClock(scenario.clock_start_ticks, scenario.duration, speed)
        params = getattr(scenario, "plant_params", None) or plantparams.nominal()
        self.plant = Plant(params, scenario.seed)
        self.battery = EmuBattery(self.clock, scenario.battery_percent)
        self.motor = EmuMotor(self.plant, self.battery)
        self.pressure = EmuPressure(self.plant, self.clock)
        presses = []
        for action in scenario.actions:
            if action.kind == "press":
                presses.append((action.at, action.at + action.data))
        self.button = EmuButton(self.clock, presses)
        self.connector = EmuConnector(scenario.connector_fitted, self.plant)
        self.buzzer = EmuBuzzer()
        self.led = EmuLed()
        self.watchdog = EmuWatchdog(self.clock)
        self.link = NullLink()
        self.flash = FlashStore()
        # on the bare-metal qemu port (a 64 KB heap) as on a real board; the Unix port's and
        # CPython's heaps are large and their collection does not land in a control tick
        self.collect_in_idle = sys.platform == "qemu"

    def storage(self):
        return self.flash

    def emit(self, line):
        if self.event_sink is not None:
            self.event_sink(line)
        else:
            self.out.write(line)
