"""Battery voltage through a resistor divider on an ADC input."""

from boards import hal


class AdcBattery(hal.Battery):
    """mV = read_u16() * ref_mv * divider / 65535, in integers.

    ``divider`` is how many times the divider reduces the voltage (3 for the
    Pico's VSYS/3 input, 2 for a 100k/100k divider).
    """

    def __init__(self, adc, ref_mv=3300, divider=2):
        if ref_mv <= 0 or divider <= 0:
            raise ValueError("ref_mv and divider must be > 0")
        self._adc = adc
        self._scale = ref_mv * divider

    def millivolts(self):
        return self._adc.read_u16() * self._scale // 65535
