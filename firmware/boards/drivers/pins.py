"""Simple pin-backed drivers: LED, connector switch."""

from boards import hal


class PinLed(hal.Led):
    def __init__(self, pin, active_low=False):
        self._pin = pin
        self._on = 0 if active_low else 1
        self.set(False)

    def set(self, on):
        self._pin.value(self._on if on else 1 - self._on)


class SwitchConnector(hal.Connector):
    """A connector switch that closes (to ground, with pull-up) when the set is attached."""

    fitted = True

    def __init__(self, pin, active_low=True):
        self._pin = pin
        self._closed = 0 if active_low else 1

    def closed(self):
        return self._pin.value() == self._closed


class NoConnector(hal.Connector):
    """Hardware without a connector switch: always reads closed, ``fitted`` is False."""

    fitted = False

    def closed(self):
        return True
