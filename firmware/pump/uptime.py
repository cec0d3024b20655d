"""Time since boot and time of day, kept as (days, ms) so no int grows past 2**30.

On 32-bit boards an int above 2**30 is a heap object; splitting days from ms
keeps the per-tick update allocation-free for years of uptime.
"""

from pump.compat import const

DAY_MS = const(86400000)


class Uptime:
    def __init__(self, time_of_day_ms=0):
        self.days = 0
        self.ms = 0  # ms into the current uptime day
        self.tod_offset = time_of_day_ms % DAY_MS

    def advance(self, dt):
        ms = self.ms + dt
        while ms >= DAY_MS:
            ms -= DAY_MS
            self.days += 1
        self.ms = ms

    def now_ms(self):
        """Ms since boot (for event stamps; may be a long int after 12 days on a board)."""
        return self.days * DAY_MS + self.ms

    def time_of_day_ms(self):
        t = self.ms + self.tod_offset
        if t >= DAY_MS:
            t -= DAY_MS
        return t
