"""ESP32 DevKit (ESP32-WROOM-32) board: wiring in PINS, drivers built by make_board().

Storage: the esp32 port formats its flash as littlefs2 out of the box, so the
journal lives at "/". Only ADC1 pins are used: ADC2 stops working while
Wi-Fi is on. See docs/boards.md for the wiring table.
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

NAME = "esp32_devkit"

PINS = {
    "motor_step": 25,  # GPIO25 -> driver STEP
    "motor_dir": 26,  # GPIO26 -> driver DIR
    "motor_enable": 27,  # GPIO27 -> driver EN (active low)
    "button": 32,  # GPIO32, button to GND, internal pull-up
    "connector": 33,  # GPIO33, set switch to GND, internal pull-up
    "buzzer": 23,  # GPIO23, LEDC PWM, piezo via transistor
    "led": 2,  # on-board blue LED of most DevKit boards
    "pressure_adc": 34,  # GPIO34 = ADC1_CH6 (input only)
    "battery_adc": 35,  # GPIO35 = ADC1_CH7 (input only), battery through 100k/100k
    "i2c_id": 0,  # hardware I2C 0 for the optional external ADC
    "i2c_sda": 21,
    "i2c_scl": 22,
}

WDT_TIMEOUT_MS = 4000


def boot_reason():
    """'watchdog' after a watchdog reset (the app raises the watchdog alarm), else 'power_on'."""
    return "watchdog" if machine.reset_cause() == machine.WDT_RESET else "power_on"


def make_board(pins=None, pressure="adc", wdt_timeout_ms=WDT_TIMEOUT_MS):
    """Build the board from a pin map; ``pressure`` is "adc" or "mcp3221" (I2C)."""
    pins = PINS if pins is None else pins
    pin = machine.Pin
    adc = machine.ADC
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
        # 11 dB attenuation: the full 0-3.3 V amplifier swing is in range.
        sensor = AdcPressure(adc(pin(pins["pressure_adc"]), atten=adc.ATTN_11DB))
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
        buzzer=PwmBuzzer(machine.PWM(pin(pins["buzzer"])), machine.Timer(0),
                         machine.Timer.ONE_SHOT),
        led=PinLed(pin(pins["led"], pin.OUT)),
        battery=AdcBattery(adc(pin(pins["battery_adc"]), atten=adc.ATTN_11DB),
                           ref_mv=3300, divider=2),
        watchdog=GatedWatchdog(start_wdt, time.ticks_ms),
        link=StreamLink(poller, sys.stdin.buffer, sys.stdout.buffer),
        storage_root="/",
    )
