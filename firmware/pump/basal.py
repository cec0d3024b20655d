"""Basal profile (DEL-2): up to 48 segments over 24 h, each a start minute and a rate.

Rates are integer mU/h. Lookups are cached per segment so the control tick
does a comparison, not a search.
"""

from pump.compat import const
from pump.units import InputError, segments, to_milli

MAX_SEGMENTS = const(48)
_MIN_MS = const(60000)


class BasalProfile:
    def __init__(self, starts_min, rates):
        self.starts = starts_min  # ascending minutes of day, first is 0
        self.rates = rates  # mU/h
        self._lo = 0  # cached segment bounds in ms of day
        self.seg_end = 0  # public: the delivery fast path compares against it
        self._rate = 0

    @staticmethod
    def parse(raw, max_rate, where="basal_u_per_h"):
        """Build from ``[[start_minute, U/h], ...]``; errors name the segment."""

        def rate(value, here):
            milli = to_milli(value, here, 0, 30)
            if milli > max_rate:
                raise InputError(here, "over the max basal rate limit (max_basal)")
            return milli

        starts, rates = segments(raw, where, MAX_SEGMENTS, rate)
        return BasalProfile(starts, rates)

    @staticmethod
    def flat(rate):
        return BasalProfile([0], [rate])

    def max_rate(self):
        return max(self.rates)

    def rate_at(self, tod_ms):
        """Programmed rate (mU/h) at ``tod_ms`` ms into the day."""
        if self._lo <= tod_ms < self.seg_end:
            return self._rate
        starts = self.starts
        i = len(starts) - 1
        while starts[i] * _MIN_MS > tod_ms:
            i -= 1
        self._lo = starts[i] * _MIN_MS
        self.seg_end = starts[i + 1] * _MIN_MS if i + 1 < len(starts) else 86400000
        self._rate = self.rates[i]
        return self._rate

    def edge_after(self, tod_ms):
        """Ms of day where the segment holding ``tod_ms`` ends (86400000 for the last)."""
        self.rate_at(tod_ms)
        return self.seg_end

    def to_list(self):
        return [[s, r] for s, r in zip(self.starts, self.rates)]
