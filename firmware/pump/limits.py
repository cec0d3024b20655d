"""Rolling insulin totals for the per-hour and per-24-h limits (DEL-4).

Delivered insulin is binned per minute in a preallocated ring of 1440 bins;
running sums for the last 60 and 1440 minutes are kept up to date in O(1) per
pulse and per minute, so checking a request never scans history. The ring is
24 arrays of one hour each: a 64 KB heap on a microcontroller need not find
one free 2.9 KB block for it (nor a same-sized temporary to fill it from).
"""

from array import array

from pump.compat import const

_BINS = const(1440)
_HOUR = const(60)  # minutes per hour, and bins per chunk of the ring


class RollingTotals:
    def __init__(self):
        zero = bytes(2 * _HOUR)  # one small temporary fills every chunk
        # bin i (a minute) is chunks[i // 60][i % 60]: mU; <= 65535 even at max bolus speed
        self.chunks = [array("H", zero) for _ in range(_BINS // _HOUR)]
        self.index = 0
        self.hour = 0  # mU in the last 60 minutes
        self.day = 0  # mU in the last 1440 minutes

    def add(self, mu):
        i = self.index
        self.chunks[i // _HOUR][i % _HOUR] += mu
        self.hour += mu
        self.day += mu

    def seed(self, hour, day):
        """Start from totals kept across a reboot, when the minute bins are lost.

        The last hour goes in the current minute (it expires from the hour window
        60 minutes from now: never earlier than it really would); the rest of the
        day goes into the bins just older than an hour (the newest it can be), so
        every unit leaves the windows no sooner than it would have without the reboot."""
        chunks = self.chunks
        i = self.index
        chunks[i // _HOUR][i % _HOUR] = hour
        rest = day - hour
        age = _HOUR
        while rest > 0 and age < _BINS:
            part = rest if rest < 60000 else 60000
            j = (i + _BINS - age) % _BINS
            chunks[j // _HOUR][j % _HOUR] = part
            rest -= part
            age += 1
        self.hour = hour
        self.day = day - rest

    def next_minute(self):
        chunks = self.chunks
        j = (self.index + _BINS + 1 - _HOUR) % _BINS
        self.hour -= chunks[j // _HOUR][j % _HOUR]
        i = (self.index + 1) % _BINS
        self.index = i
        chunk = chunks[i // _HOUR]
        self.day -= chunk[i % _HOUR]
        chunk[i % _HOUR] = 0


def check_bolus(settings, totals, amount):
    """Reason a bolus of ``amount`` mU must be refused, or None."""
    if amount <= 0:
        return "amount_not_positive"
    if amount % settings.pulse:
        return "not_whole_pulses"
    if amount > settings.max_bolus:
        return "over_max_bolus"
    return check_totals(settings, totals, amount)


def check_totals(settings, totals, amount):
    """Reason ``amount`` mU more would pass the rolling hour or day limit, or None (a bolus,
    or a prime: DEL-4 bounds everything the motor pushes, so both are refused up front rather
    than held part way)."""
    if totals.hour + amount > settings.max_hour:
        return "over_max_per_hour"
    if totals.day + amount > settings.max_day:
        return "over_max_per_day"
    return None


def check_rate(settings, rate):
    """Reason a basal rate of ``rate`` mU/h must be refused, or None."""
    if rate < 0:
        return "negative_rate"
    if rate > settings.max_basal:
        return "over_max_basal"
    return None
