"""Line pressure: the on-chip ADC, or an MCP3221 12-bit I2C ADC on a bus you pass in."""

from boards import hal

_MCP3221_ADDRESS = 0x4D
OUT_OF_RANGE = 0xFFFF
"""What ``read_raw`` returns when the sensor cannot be read: above ``counts_max``,
so the sensor-fault check (SEN-1) alarms instead of the firmware crashing."""


class AdcPressure(hal.PressureSensor):
    """``adc`` is a ``machine.ADC``; ``read_u16`` is scaled to 12-bit counts."""

    def __init__(self, adc):
        self._adc = adc

    def read_raw(self):
        return self._adc.read_u16() >> 4


class Mcp3221Pressure(hal.PressureSensor):
    """MCP3221 on ``i2c`` (a ``machine.I2C``): two bytes, 12-bit result, no registers."""

    def __init__(self, i2c, address=_MCP3221_ADDRESS):
        self._i2c = i2c
        self._address = address
        self._buf = bytearray(2)  # reused by every read: no allocation per sample

    def read_raw(self):
        try:
            self._i2c.readfrom_into(self._address, self._buf)
        except OSError:  # NACK or bus fault: report it as a sensor fault
            return OUT_OF_RANGE
        return ((self._buf[0] & 0x0F) << 8) | self._buf[1]
