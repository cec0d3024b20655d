"""Insulin on board (IOB-1) over the pump's own delivery history.

Delivered insulin is kept as doses in a preallocated ring: insulin delivered
within ``BUCKET_S`` of a dose's first unit joins that dose, which is stamped
with the time of its newest unit (later than some of it really was: the IOB
errs high, so the calculator errs low). The ring holds more doses than fit in
the longest action (600 min of action + 30 of delay at one dose per 5 min),
so no dose still acting is ever overwritten. IOB is the sum of each dose's
remaining fraction on the action curve (pump/actioncurve.py), in integer mU.
"""

from array import array

from pump.compat import const, micropython

BUCKET_S = const(300)
SLOTS = const(160)  # > (600 + 30) / 5 doses


class DoseHistory:
    def __init__(self, curve):
        self.curve = curve
        self.times = array("i", bytes(4 * SLOTS))  # therapy s of the newest unit of each dose
        self.amounts = array("i", bytes(4 * SLOTS))  # mU; negative for basal below schedule
        self.count = 0  # doses ever started; the newest is at (count - 1) % SLOTS
        self._opened = 0  # therapy s when the newest dose started

    def add(self, t_s, mu):
        """Count ``mu`` delivered at ``t_s``. Returns True when it started a new dose."""
        i = (self.count - 1) % SLOTS
        if self.count and t_s - self._opened < BUCKET_S:
            self.amounts[i] += mu
            self.times[i] = t_s
            return False
        self.load(t_s, mu)
        self._opened = t_s
        return True

    def load(self, t_s, mu):
        """A dose as it was recorded (boot recovery): never merged with another."""
        i = self.count % SLOTS
        self.times[i] = t_s
        self.amounts[i] = mu
        self.count += 1
        self._opened = -BUCKET_S  # the next add starts a new dose

    def newest(self):
        """(ring index) of the newest dose, or -1."""
        return (self.count - 1) % SLOTS if self.count else -1

    @micropython.native
    def total(self, now_s):
        """mU on board at ``now_s`` (may be negative when basal below schedule counts)."""
        curve = self.curve
        end = curve.end_s
        n = self.count if self.count < SLOTS else SLOTS
        i = self.count
        out = 0
        for _ in range(n):
            i -= 1
            k = i % SLOTS
            elapsed = now_s - self.times[k]
            if elapsed >= end:
                continue  # stamps are not monotonic after merging: keep looking
            out += curve.on_board(self.amounts[k], elapsed)
        return out
