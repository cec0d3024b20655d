"""Raspberry Pi Pico (RP2040) board: wiring in PINS, drivers built by make_board().

Storage: the rp2 port formats its flash as littlefs2 out of the box, so the
journal lives at "/". See docs/boards.md for the wiring table.
"""

import select
import sys
import time

import machine

from boards.drivers.battery import AdcBattery
from boards.drivers.board import HardwareBoard
from boards.drivers.button import DebouncedButton
from boards.drivers.buzzer import PwmBuzzer
from boards.drivers.clock import TicksClock
from boards.drivers.link import StreamLink
from boards.drivers.pins import PinLed, SwitchConnector
from boards.drivers.pressure import AdcPressure, Mcp3221Pressure
from boards.drivers.stepper import StepDirStepper
from boards.drivers.watchdog import GatedWatchdog

NAME = "rp2_pico"

PINS = {
    "motor_step": 2,  # GP2 -> driver STEP
    "motor_dir": 3,  # GP3 -> driver DIR
    "motor_enable": 4,  # GP4 -> driver EN (active low)
    "button": 14,  # GP14, button to GND, internal pull-up
    "connector": 15,  # GP15, set switch to GND, internal pull-up
    "buzzer": 16,  # GP16, PWM slice 0 A, piezo via transistor
    "led": 25,  # on-board LED (GP25 on the Pico)
    "pressure_adc": 26,  # GP26 = ADC0, force-sensor amplifier output
    "battery_adc": 29,  # GP29 = ADC3, VSYS / 3 through the on-board divider
    "i2c_id": 0,  # I2C0 for the optional external ADC
    "i2c_sda": 20,  # GP20 = I2C0 SDA
    "i2c_scl": 21,  # GP21 = I2C0 SCL
}

WDT_TIMEOUT_MS = 4000  # the RP2040 watchdog maximum is 8388 ms


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
        i2c = machine.I2C(pins["i2c_id"], scl=pin(pins["i2c_scl"]), sda=pin(pins["i2c_sda"]),
                          freq=400000)
        sensor = Mcp3221Pressure(i2c)
    elif pressure == "adc":
        sensor = AdcPressure(machine.ADC(pin(pins["pressure_adc"])))
    else:
        raise ValueError("pressure must be 'adc' or 'mcp3221', got " + repr(pressure))
    button = DebouncedButton(
        pin(pins["button"], pin.IN, pin.PULL_UP),
        time.ticks_ms,
        pin.IRQ_FALLING | pin.IRQ_RISING,
    )
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)

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
        battery=AdcBattery(machine.ADC(pins["battery_adc"] - 26), ref_mv=3300, divider=3),
        watchdog=GatedWatchdog(start_wdt, time.ticks_ms),
        link=StreamLink(poller, sys.stdin.buffer, sys.stdout.buffer),
        storage_root="/",
    )
