"""STM32 pyboard (PYBv1.1): its wiring and port facts; boards/device.py builds the drivers.

Storage: the pyboard ships with its internal flash formatted FAT, which is
not power-loss safe. Reformat it to littlefs2 once (docs/boards.md); the
journal then lives at "/flash". On FAT the board reports ``storage_safe``
False and the boot raises the high-priority journal alarm (no delivery).
"""

import machine
import pyb

from boards.drivers.link import VcpLink

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
TIMER_ID = -1  # a soft timer ends the buzzer's tones
BATTERY_DIVIDER = 2  # 100k/100k
STORAGE_ROOT = "/flash"


def make_i2c(pins):
    """The pyboard's hardware I2C buses have fixed pins: only the bus number."""
    return machine.I2C(pins["i2c_id"], freq=400000)


def make_link():
    """The USB virtual COM port, which has any/readinto/write itself."""
    return VcpLink(pyb.USB_VCP())
