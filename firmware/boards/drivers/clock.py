"""The board's millisecond clock: the port's own ``time.ticks_ms``.

rp2, esp32 and stm32 already wrap ticks at 2**30, the period ``pump.ticks``
assumes, so the raw value is passed through unchanged.
"""

from pump.ticks import ticks_diff

from boards import hal


class TicksClock(hal.Clock):
    """``ticks_ms`` and ``sleep_ms`` are the port's ``time`` functions."""

    def __init__(self, ticks_ms, sleep_ms):
        self._ticks_ms = ticks_ms
        self._sleep_ms = sleep_ms

    def ticks_ms(self):
        return self._ticks_ms()

    def wait_until(self, ticks):
        # sleep_ms, not lightsleep: USB serial must stay up for the host link.
        delay = ticks_diff(ticks, self._ticks_ms())
        if delay > 0:
            self._sleep_ms(delay)
