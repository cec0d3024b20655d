"""ESP32 DevKit (ESP32-WROOM-32): its wiring and port facts; boards/device.py builds the drivers.

Storage: the esp32 port formats its flash as littlefs2 out of the box, so the
journal lives at "/". Only ADC1 pins are used: ADC2 stops working while
Wi-Fi is on. See docs/boards.md for the wiring table.
"""

import machine

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
TIMER_ID = 0  # hardware timer 0 ends the buzzer's tones
BATTERY_DIVIDER = 2  # 100k/100k
STORAGE_ROOT = "/"


def make_adc(pin):
    """11 dB attenuation: the full 0-3.3 V amplifier swing is in range."""
    return machine.ADC(pin, atten=machine.ADC.ATTN_11DB)
