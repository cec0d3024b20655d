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


def fmt_u(milli):
    """mU as a decimal string of units, e.g. 1250 -> '1.250' (no floats involved)."""
    sign = "-" if milli < 0 else ""
    milli = abs(milli)
    return "%s%d.%03d" % (sign, milli // 1000, milli % 1000)
