"""Debounced push button: the pin IRQ only records an edge, the scheduler decides.

The IRQ handler does no work and allocates nothing (it may run as a hard
IRQ): it stores the edge time and sets a flag. ``pressed()`` runs in the
control task; it takes the pin level as the new state once no edge has been
seen for ``debounce_ms``, and it reports a press that began and ended
between two polls once, so a quick tap is never lost.
"""

from pump.ticks import ticks_diff

from boards import hal


class DebouncedButton(hal.Button):
    """``pin`` is an input pin with ``value()`` and ``irq(handler=, trigger=)``.

    ``trigger`` is the port's ``Pin.IRQ_FALLING | Pin.IRQ_RISING``;
    ``ticks_ms`` the port's ``time.ticks_ms``.
    """

    def __init__(self, pin, ticks_ms, trigger, active_low=True, debounce_ms=30):
        self._pin = pin
        self._ticks_ms = ticks_ms
        self._active = 0 if active_low else 1
        self._debounce_ms = debounce_ms
        self._stable = False
        self._last_edge = ticks_ms()
        self._tapped = False  # set by the IRQ on a press edge, cleared by pressed()
        self._handler = self._on_edge  # bound once: no allocation when the IRQ fires
        pin.irq(handler=self._handler, trigger=trigger)

    def _on_edge(self, _pin):
        self._last_edge = self._ticks_ms()
        if self._pin.value() == self._active:
            self._tapped = True

    def pressed(self):
        level = self._pin.value() == self._active
        if ticks_diff(self._ticks_ms(), self._last_edge) >= self._debounce_ms:
            self._stable = level
        if self._stable:
            self._tapped = False
            return True
        if self._tapped and not level:
            # Pressed and released between two polls: report it once.
            self._tapped = False
            return True
        return False
