"""Raspberry Pi Pico (RP2040): its wiring and port facts; boards/device.py builds the drivers.

Storage: the rp2 port formats its flash as littlefs2 out of the box, so the
journal lives at "/". See docs/boards.md for the wiring table.
"""

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
TIMER_ID = -1  # a virtual timer ends the buzzer's tones
BATTERY_DIVIDER = 3  # VSYS / 3
STORAGE_ROOT = "/"
