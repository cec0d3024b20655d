"""STM32 pyboard (PYBv1.1) board: wiring in PINS, drivers built by make_board().

Storage: the pyboard ships with its internal flash formatted FAT, which is
not power-loss safe. Reformat it to littlefs2 once (docs/boards.md); the
journal then lives at "/flash". On FAT the board reports ``storage_safe``
False and boards/device.py raises the high-priority journal alarm (no delivery).
"""

import time

import machine
import pyb
import vfs

from boards.drivers.battery import AdcBattery
from boards.drivers.board import HardwareBoard
from boards.drivers.button import DebouncedButton
from boards.drivers.buzzer import PwmBuzzer
from boards.drivers.clock import TicksClock
from boards.drivers.link import VcpLink
from boards.drivers.pins import PinLed, SwitchConnector
from boards.drivers.pressure import AdcPressure, Mcp3221Pressure
from boards.drivers.stepper import StepDirStepper
from boards.drivers.watchdog import GatedWatchdog

NAME = "stm32_pyboard"

PINS = {
    "motor_step": "Y1",  # PC6 -> driver STEP
    "motor_dir": "Y2",  # PC7 -> driver DIR
    "motor_enable": "Y3",  # PB8 -> driver EN (active low)
    "button": "X17",  # the on-board USR switch (to GND, pull-up)
    "connector": "Y4",  # PB9, set switch to GND, internal pull-up
    "buzzer": "X1",  # PA0, TIM2 CH1 PWM, piezo via transistor
    "led": "LED_RED",  # on-board red LED (LED 1)
    "pressure_adc": "X19",  # PC0 = ADC1 IN10
    "battery_adc": "X20",  # PC1 = ADC1 IN11, battery through 100k/100k
    "i2c_id": 1,  # I2C1: SCL X9 (PB6), SDA X10 (PB7) for the optional external ADC
}

WDT_TIMEOUT_MS = 4000
STORAGE_ROOT = "/flash"


def flash_is_littlefs():
    """True when /flash is mounted as littlefs2 (False on the factory FAT)."""
    for fs, mount_point in vfs.mount():
        if mount_point == STORAGE_ROOT:
            return isinstance(fs, vfs.VfsLfs2)
    return False


def boot_reason():
    """'watchdog' after a watchdog reset (the app raises the watchdog alarm), else 'power_on'."""
    return "watchdog" if machine.reset_cause() == machine.WDT_RESET else "power_on"


def make_board(pins=None, pressure="adc", wdt_timeout_ms=WDT_TIMEOUT_MS):
    """Build the board from a pin map; ``pressure`` is "adc" or "mcp3221" (I2C)."""
    pins = PINS if pins is None else pins
    pin = machine.Pin
    clock = TicksClock(time.ticks_ms, time.sleep_ms)
    motor = StepDirStepper(
        pin(pins["motor_step"], pin.OUT),
        pin(pins["motor_dir"], pin.OUT),
        pin(pins["motor_enable"], pin.OUT),
        time.sleep_us,
    )
    if pressure == "mcp3221":
        sensor = Mcp3221Pressure(machine.I2C(pins["i2c_id"], freq=400000))
    elif pressure == "adc":
        sensor = AdcPressure(machine.ADC(pin(pins["pressure_adc"])))
    else:
        raise ValueError("pressure must be 'adc' or 'mcp3221', got " + repr(pressure))
    button = DebouncedButton(
        pin(pins["button"], pin.IN, pin.PULL_UP),
        time.ticks_ms,
        pin.IRQ_FALLING | pin.IRQ_RISING,
    )

    def start_wdt():
        return machine.WDT(timeout=wdt_timeout_ms)

    return HardwareBoard(
        NAME,
        pins,
        boot_reason=boot_reason(),
        clock=clock,
        motor=motor,
        pressure=sensor,
        button=button,
        connector=SwitchConnector(pin(pins["connector"], pin.IN, pin.PULL_UP)),
        buzzer=PwmBuzzer(machine.PWM(pin(pins["buzzer"])), machine.Timer(-1),
                         machine.Timer.ONE_SHOT),
        led=PinLed(pin(pins["led"], pin.OUT)),
        battery=AdcBattery(machine.ADC(pin(pins["battery_adc"])), ref_mv=3300, divider=2),
        watchdog=GatedWatchdog(start_wdt, time.ticks_ms),
        link=VcpLink(pyb.USB_VCP()),
        storage_root=STORAGE_ROOT,
        storage_safe=flash_is_littlefs(),
    )
