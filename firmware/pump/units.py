"""Fixed-point conversions. Insulin is carried as integer milli-units (mU) end to end.

Settings and scenarios are written for people (U, U/h, minutes); these helpers
turn them into integers once, at the edge, and refuse values finer than the
integer unit instead of rounding them silently.
"""

from pump.compat import const

MU_PER_U = const(1000)
MS_PER_H = const(3600000)


class InputError(ValueError):
    """A bad value in a settings file, scenario or command; ``where`` names the field."""

    def __init__(self, where, message):
        super().__init__("%s: %s" % (where, message))
        self.where = where
        self.message = message


def is_number(value):
    return (type(value) is int or type(value) is float) and value == value


def to_milli(value, where, lo=None, hi=None):
    """``value`` in whole units as an int of thousandths, checked against lo..hi (units)."""
    if not is_number(value) or type(value) is bool:
        raise InputError(where, "expected a number, got %r" % (value,))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InputError(where, "%r is outside %r..%r" % (value, lo, hi))
    milli = int(round(value * 1000))
    # boards parse JSON into 32-bit floats: 4.05 arrives as 4.0499997, so allow 0.05 mU
    if abs(value * 1000 - milli) > 0.05:
        raise InputError(where, "%r has more than 3 decimals" % (value,))
    return milli


def to_int(value, where, lo=None, hi=None):
    if type(value) is not int:
        raise InputError(where, "expected an integer, got %r" % (value,))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InputError(where, "%r is outside %r..%r" % (value, lo, hi))
    return value


def segments(raw, where, max_n, parse):
    """Time-of-day segments ``[[start_minute, value], ...]`` -> (starts, values).

    The first starts at minute 0 and starts increase; ``parse(value, where)`` checks and
    converts each value. Errors name the segment (``where[i][0]``, ``where[i][1]``).
    """
    if not isinstance(raw, list) or not raw or len(raw) > max_n:
        raise InputError(where, "expected 1..%d [start_minute, value] pairs" % max_n)
    starts = []
    values = []
    for i, seg in enumerate(raw):
        here = "%s[%d]" % (where, i)
        if not isinstance(seg, list) or len(seg) != 2:
            raise InputError(here, "expected [start_minute, value]")
        start = to_int(seg[0], here + "[0]", 0, 1439)
        if i == 0 and start:
            raise InputError(here + "[0]", "the first segment must start at minute 0")
        if i and start <= starts[-1]:
            raise InputError(here + "[0]", "start minutes must increase")
        starts.append(start)
        values.append(parse(seg[1], here + "[1]"))
    return starts, values


def fmt_u(milli):
    """mU as a decimal string of units, e.g. 1250 -> '1.250' (no floats involved)."""
    sign = "-" if milli < 0 else ""
    milli = abs(milli)
    return "%s%d.%03d" % (sign, milli // 1000, milli % 1000)
