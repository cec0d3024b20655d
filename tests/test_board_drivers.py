"""Behaviour of the real-board drivers, with fake pins and buses (they only call pin methods)."""

import pytest
from boards import board_name
from boards.drivers.battery import AdcBattery
from boards.drivers.button import DebouncedButton
from boards.drivers.buzzer import PwmBuzzer
from boards.drivers.clock import TicksClock
from boards.drivers.link import StreamLink
from boards.drivers.pins import NoConnector, PinLed, SwitchConnector
from boards.drivers.pressure import OUT_OF_RANGE, AdcPressure, Mcp3221Pressure
from boards.drivers.stepper import StepDirStepper
from boards.drivers.watchdog import GatedWatchdog
from pump.ticks import TICKS_MASK, ticks_add


class FakeClock:
    def __init__(self, start=0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, ms):
        self.now = ticks_add(self.now, ms)


class FakePin:
    """An input/output pin that records writes and fires its IRQ handler on changes."""

    def __init__(self, level=1):
        self.level = level
        self.writes = []
        self.handler = None

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self.writes.append(v)

    def irq(self, handler=None, trigger=0):
        self.handler = handler

    def drive(self, level):
        """What the outside world does: change the level, fire the edge IRQ."""
        if level != self.level:
            self.level = level
            self.handler(self)


# --- board selection ---------------------------------------------------------


@pytest.mark.parametrize(
    "platform, name",
    [
        ("rp2", "rp2_pico"),
        ("esp32", "esp32_devkit"),
        ("pyboard", "stm32_pyboard"),
        ("linux", "emu"),
        ("darwin", "emu"),
    ],
)
def test_board_chosen_by_platform(platform, name):
    assert board_name(platform) == name


# --- button -------------------------------------------------------------------


def make_button(debounce_ms=30):
    clock, pin = FakeClock(start=TICKS_MASK - 50), FakePin(level=1)  # near the wrap on purpose
    return (
        DebouncedButton(pin, clock, trigger=3, active_low=True, debounce_ms=debounce_ms),
        pin,
        clock,
    )


def test_button_ignores_bounce_until_level_is_stable():
    button, pin, clock = make_button()
    clock.advance(100)
    assert not button.pressed()
    for _ in range(3):  # contact bounce: edges 2 ms apart
        pin.drive(0)
        clock.advance(2)
        pin.drive(1)
        clock.advance(2)
    pin.drive(0)
    clock.advance(10)
    assert not button.pressed()  # still inside the debounce window
    clock.advance(30)
    assert button.pressed()
    assert button.pressed()  # held: stays pressed
    pin.drive(1)
    clock.advance(40)
    assert not button.pressed()


def test_button_tap_between_polls_is_reported_once():
    button, pin, clock = make_button()
    clock.advance(100)
    assert not button.pressed()
    pin.drive(0)
    clock.advance(40)
    pin.drive(1)  # released before the next poll
    clock.advance(60)
    assert button.pressed()
    assert not button.pressed()


def test_button_irq_only_records_the_edge():
    button, pin, clock = make_button()
    writes_before = list(pin.writes)
    pin.drive(0)
    assert pin.writes == writes_before  # the handler touched no output


# --- stepper ------------------------------------------------------------------


def make_stepper(steps_per_pulse=4):
    step, direction, enable = FakePin(0), FakePin(0), FakePin(1)
    sleeps = []
    motor = StepDirStepper(
        step, direction, enable, sleeps.append, steps_per_pulse=steps_per_pulse, half_period_us=250
    )
    step.writes.clear()
    enable.writes.clear()
    return motor, step, direction, enable, sleeps


def test_stepper_declares_the_time_its_blocking_pulse_takes():
    """push_ms (hal.Motor): steps_per_pulse steps of 2 x half_period_us, rounded up to a ms;
    the sleeps the pulse makes add up to it."""
    motor, _, _, _, sleeps = make_stepper(steps_per_pulse=4)
    motor.pulse()
    assert sum(sleeps) == 4 * 2 * 250
    assert motor.push_ms == 2  # 2,000 us
    slow = StepDirStepper(FakePin(0), FakePin(0), None, lambda us: None, steps_per_pulse=10,
                          half_period_us=700)
    assert slow.push_ms == 14


def test_stepper_pulse_counts_steps_forward_and_powers_down():
    motor, step, direction, enable, sleeps = make_stepper(steps_per_pulse=4)
    motor.pulse()
    motor.pulse()
    assert step.writes == [1, 0] * 8
    assert direction.level == 1
    assert enable.writes == [0, 1, 0, 1]  # active-low enable, released after each move
    assert sleeps == [250] * 16
    assert motor.position() == 8


def test_stepper_retract_moves_back():
    motor, step, direction, _, _ = make_stepper(steps_per_pulse=4)
    motor.pulse()
    motor.retract(10)
    assert direction.level == 0
    assert step.writes.count(1) == 14
    assert motor.position() == -6


@pytest.mark.parametrize(
    "kwargs, message",
    [({"steps_per_pulse": 0}, "steps_per_pulse"), ({"half_period_us": 1}, "half_period_us")],
)
def test_stepper_rejects_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StepDirStepper(FakePin(), FakePin(), None, lambda us: None, **kwargs)


# --- watchdog -----------------------------------------------------------------


class FakeWdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class FakeTask:
    """What the watchdog reads from a ``pump.sched.Task``."""

    def __init__(self, name, last_run=0):
        self.name, self.last_run = name, last_run


def test_watchdog_feeds_only_while_every_critical_task_is_alive():
    clock, wdt, started = FakeClock(), FakeWdt(), []

    def start():
        started.append(clock.now)
        return wdt

    dog = GatedWatchdog(start, clock)
    delivery, sensor = FakeTask("delivery"), FakeTask("sensor")
    dog.watch(delivery, 2500)
    dog.watch(sensor, 500)
    assert started == []  # not started until the first feed
    for _ in range(10):  # both tasks healthy
        clock.advance(100)
        sensor.last_run = clock.now
        if clock.now % 1000 == 0:
            delivery.last_run = clock.now
        dog.feed()
    assert (started, wdt.feeds) == ([100], 10)
    # Delivery hangs after its run at t=1000 ms; sensor keeps running. Feeding
    # goes on while delivery is within its 2500 ms limit (t=1100..3500), then stops.
    for _ in range(30):
        clock.advance(100)
        sensor.last_run = clock.now
        dog.feed()
    assert dog.stale() is delivery
    assert wdt.feeds == 10 + 25


def test_watchdog_without_watched_tasks_feeds_every_time():
    wdt = FakeWdt()
    dog = GatedWatchdog(lambda: wdt, FakeClock())
    dog.feed()
    dog.feed()
    assert wdt.feeds == 2


def test_watchdog_rewatch_changes_the_limit_and_bad_limit_is_refused():
    clock, wdt = FakeClock(), FakeWdt()
    dog = GatedWatchdog(lambda: wdt, clock)
    task = FakeTask("delivery")
    dog.watch(task, 100)
    clock.advance(200)
    assert dog.stale() is task
    dog.watch(task, 1000)
    assert dog.stale() is None
    with pytest.raises(ValueError, match="delivery"):
        dog.watch(task, 0)


# --- analog, I2C, PWM, pins, link ---------------------------------------------


class FakeAdc:
    def __init__(self, value):
        self.value = value

    def read_u16(self):
        return self.value


class FakeI2c:
    def __init__(self, data=b"\x0a\xbc", fail=False):
        self.data, self.fail, self.addresses = data, fail, []

    def readfrom_into(self, address, buf):
        self.addresses.append(address)
        if self.fail:
            raise OSError(19)
        buf[:] = self.data


def test_adc_pressure_scales_to_12_bits():
    assert AdcPressure(FakeAdc(0xFFFF)).read_raw() == 4095
    assert AdcPressure(FakeAdc(0x8010)).read_raw() == 0x801


def test_mcp3221_decodes_and_reports_bus_fault_as_out_of_range():
    bus = FakeI2c(b"\xfa\xbc")  # the high nibble of the first byte is not data
    sensor = Mcp3221Pressure(bus)
    assert sensor.read_raw() == 0xABC
    assert bus.addresses == [0x4D]
    broken = Mcp3221Pressure(FakeI2c(fail=True))
    assert broken.read_raw() == OUT_OF_RANGE > broken.counts_max


def test_battery_millivolts_through_divider():
    assert AdcBattery(FakeAdc(65535), ref_mv=3300, divider=3).millivolts() == 9900
    assert AdcBattery(FakeAdc(32768), ref_mv=3300, divider=2).millivolts() == 3300
    with pytest.raises(ValueError):
        AdcBattery(FakeAdc(0), divider=0)


class FakePwm:
    def __init__(self):
        self.calls = []

    def freq(self, hz):
        self.calls.append(("freq", hz))

    def duty_u16(self, duty):
        self.calls.append(("duty", duty))


class FakeTimer:
    def __init__(self):
        self.callback = None

    def init(self, mode, period, callback):
        self.mode, self.period, self.callback = mode, period, callback

    def deinit(self):
        self.callback = None


def test_buzzer_tone_ends_from_the_timer_callback():
    pwm, timer = FakePwm(), FakeTimer()
    buzzer = PwmBuzzer(pwm, timer, one_shot=7)
    buzzer.tone(2000, 150)
    assert pwm.calls[-2:] == [("freq", 2000), ("duty", 32768)]
    assert (timer.mode, timer.period) == (7, 150)
    timer.callback(timer)
    assert pwm.calls[-1] == ("duty", 0)
    buzzer.tone(0, 100)  # a zero frequency is silence, not a PWM error
    assert pwm.calls[-1] == ("duty", 0) and timer.callback is None


def test_led_and_connector_polarity():
    pin = FakePin(0)
    PinLed(pin, active_low=True).set(True)
    assert pin.level == 0
    assert SwitchConnector(FakePin(0)).closed()
    assert not SwitchConnector(FakePin(1)).closed()
    assert NoConnector().closed() and not NoConnector.fitted and SwitchConnector.fitted


class FakePoller:
    def __init__(self, reader):
        self.reader = reader

    def ipoll(self, timeout):
        return iter([1]) if self.reader.pending else iter(())


class FakeReader:
    def __init__(self, data):
        self.pending = bytearray(data)

    def readinto(self, buf):
        buf[0] = self.pending.pop(0)
        return 1


class FakeWriter:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += bytes(data)


def test_stream_link_reads_what_is_waiting_without_blocking():
    reader, writer = FakeReader(b"abc"), FakeWriter()
    link = StreamLink(FakePoller(reader), reader, writer)
    buf = bytearray(2)
    assert link.any() == 1
    assert link.readinto(buf) == 2 and buf == b"ab"
    assert link.readinto(buf) == 1 and buf[:1] == b"c"
    assert link.any() == 0 and link.readinto(buf) == 0
    link.write(b"x")
    assert writer.data == b"x"


def test_ticks_clock_sleeps_until_deadline_across_the_wrap():
    clock, slept = FakeClock(start=TICKS_MASK - 5), []
    tc = TicksClock(clock, slept.append)
    tc.wait_until(ticks_add(clock.now, 20))
    tc.wait_until(ticks_add(clock.now, -3))  # already past: no sleep
    assert slept == [20]
    assert tc.ticks_ms() == TICKS_MASK - 5
