"""Real boards (rp2, esp32, pyboard): one builder fed by a board's pin map, and the run.

A board module (``rp2_pico``, ``esp32_devkit``, ``stm32_pyboard``) is data: its
``NAME``, its wiring ``PINS`` and a few port facts (``TIMER_ID``,
``BATTERY_DIVIDER``, ``STORAGE_ROOT``, ``WDT_TIMEOUT_MS``), plus a hook where
the port's API differs from the others (``make_adc``, ``make_i2c``,
``make_link``). ``make_board`` turns that into drivers; ``run`` boots the app
through the one boot path (boards/boot.py) every board uses.

As on the vboard: the journal, settings, basal profile and device key live in
``<storage_root>/data`` on littlefs2; the host talks over the USB serial link
through ``pump.hostlink`` (events go out as EVENT frames; with a device key
every delivery command must be signed, SEC-1); Ctrl-C is ignored while
delivering until the host asks for maintenance, which stops the scheduler and
gives the REPL back for a flash. Until the host sets a basal profile the pump
runs no basal (0 U/h): it never delivers anything nobody programmed.
"""

from pump.basal import BasalProfile
from pump.settings import Settings

from boards import boot
from boards.drivers.battery import AdcBattery
from boards.drivers.board import HardwareBoard
from boards.drivers.button import DebouncedButton
from boards.drivers.buzzer import PwmBuzzer
from boards.drivers.clock import TicksClock
from boards.drivers.link import stdio_link
from boards.drivers.pins import PinLed, SwitchConnector
from boards.drivers.pressure import AdcPressure, Mcp3221Pressure
from boards.drivers.stepper import StepDirStepper
from boards.drivers.watchdog import GatedWatchdog

I2C_FREQ = 400000
PRESSURE_SOURCES = ("adc", "mcp3221")


def _adc(machine, pin):
    return machine.ADC(pin)


def _i2c(machine, pins):
    pin = machine.Pin
    return machine.I2C(pins["i2c_id"], scl=pin(pins["i2c_scl"]), sda=pin(pins["i2c_sda"]),
                       freq=I2C_FREQ)  # fmt: skip


def littlefs_at(root):
    """True when ``root`` is mounted as littlefs2 (False on FAT, or not mounted)."""
    import vfs

    for fs, mount_point in vfs.mount():
        if mount_point == root:
            return isinstance(fs, vfs.VfsLfs2)
    return False


def make_board(spec, pins=None, pressure="adc", wdt_timeout_ms=None):
    """The board ``spec`` describes (a board module), wired as its ``PINS`` say (or
    ``pins``); ``pressure`` is "adc" (on-chip) or "mcp3221" (I2C)."""
    if pressure not in PRESSURE_SOURCES:
        raise ValueError("pressure must be 'adc' or 'mcp3221', got " + repr(pressure))
    import time

    import machine

    pins = spec.PINS if pins is None else pins
    pin = machine.Pin
    adc = getattr(spec, "make_adc", None) or (lambda p: _adc(machine, p))
    if pressure == "mcp3221":
        make_i2c = getattr(spec, "make_i2c", None) or (lambda p: _i2c(machine, p))
        sensor = Mcp3221Pressure(make_i2c(pins))
    else:
        sensor = AdcPressure(adc(pin(pins["pressure_adc"])))
    timeout = spec.WDT_TIMEOUT_MS if wdt_timeout_ms is None else wdt_timeout_ms

    def start_wdt():
        return machine.WDT(timeout=timeout)

    make_link = getattr(spec, "make_link", None) or stdio_link
    return HardwareBoard(
        spec.NAME,
        pins,
        boot_reason="watchdog" if machine.reset_cause() == machine.WDT_RESET else "power_on",
        clock=TicksClock(time.ticks_ms, time.sleep_ms),
        motor=StepDirStepper(
            pin(pins["motor_step"], pin.OUT),
            pin(pins["motor_dir"], pin.OUT),
            pin(pins["motor_enable"], pin.OUT),
            time.sleep_us,
        ),
        pressure=sensor,
        button=DebouncedButton(
            pin(pins["button"], pin.IN, pin.PULL_UP),
            time.ticks_ms,
            pin.IRQ_FALLING | pin.IRQ_RISING,
        ),
        connector=SwitchConnector(pin(pins["connector"], pin.IN, pin.PULL_UP)),
        buzzer=PwmBuzzer(
            machine.PWM(pin(pins["buzzer"])), machine.Timer(spec.TIMER_ID), machine.Timer.ONE_SHOT
        ),
        led=PinLed(pin(pins["led"], pin.OUT)),
        battery=AdcBattery(adc(pin(pins["battery_adc"])), divider=spec.BATTERY_DIVIDER),
        watchdog=GatedWatchdog(start_wdt, time.ticks_ms),
        link=make_link(),
        storage_root=spec.STORAGE_ROOT,
        storage_safe=littlefs_at(spec.STORAGE_ROOT),
    )


def build(board):
    """The app on a real ``board`` (journal, settings, profile, key, link, watchdog); not booted."""
    return boot.assemble(board, Settings(), BasalProfile.flat(0))


def run(board=None):
    if board is None:
        from boards import make_board as make_this_board

        board = make_this_board()
    return boot.serve(build(board), rebuild=lambda: build(board))
