"""Wrap-safe millisecond ticks with the 2**30 period of rp2, esp32 and stm32.

The Unix port's own ticks wrap at 2**62 and would hide wrap bugs, so the
application always uses these helpers and every clock wraps at 2**30.
"""

from pump.compat import const

TICKS_PERIOD = const(0x40000000)
TICKS_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)


def ticks_add(ticks, delta):
    """``ticks`` moved by ``delta`` ms (|delta| < 2**29), wrapped."""
    return (ticks + delta) & TICKS_MASK


def ticks_diff(end, start):
    """Signed ms from ``start`` to ``end``, correct across the wrap."""
    return ((end - start + _HALF) & TICKS_MASK) - _HALF
