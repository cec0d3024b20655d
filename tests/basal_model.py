"""An independent reference for programmed basal insulin (DEL-1), in exact fractions.

It knows nothing of the firmware's accumulator: it integrates the rate the
user programmed (profile by time of day, temp basal, suspend) over time.
"""

from __future__ import annotations

from fractions import Fraction

DAY = 86_400_000
MS_PER_H = 3_600_000


class BasalModel:
    def __init__(self, profile: list[list[float]], tod0_ms: int):
        self.starts = [int(s) * 60_000 for s, _ in profile]
        self.rates = [round(r * 1000) for _, r in profile]
        self.tod0 = tod0_ms
        self.changes: list[tuple[int, str, object]] = []  # (t_ms, what, arg)

    def profile_rate(self, t: int) -> int:
        tod = (t + self.tod0) % DAY
        i = max(k for k, s in enumerate(self.starts) if s <= tod)
        return self.rates[i]

    def edges(self, end: int) -> list[int]:
        out = []
        day = -DAY
        while day <= end + DAY:
            out += [day + s - self.tod0 for s in self.starts]
            day += DAY
        return [t for t in out if 0 < t < end]

    def programmed(self, end: int) -> Fraction:
        """Insulin (mU) programmed from boot to ``end`` ms."""
        points = sorted(
            set([0, end] + self.edges(end) + [t for t, _, _ in self.changes if t < end])
        )
        temp_ends = []
        suspended = False
        temp = None  # (rate or None, percent or None, end_t)
        changes = sorted(self.changes, key=lambda c: c[0])
        for t, what, arg in changes:
            if what == "temp":
                temp_ends.append(t + arg[2])
        points = sorted(set(points + [t for t in temp_ends if t < end]))
        total = Fraction(0)
        ci = 0
        for a, b in zip(points, points[1:], strict=False):
            while ci < len(changes) and changes[ci][0] <= a:
                _, what, arg = changes[ci]
                if what == "suspend":
                    suspended, temp = True, None
                elif what == "resume":
                    suspended = False
                elif what == "temp":
                    temp = (arg[0], arg[1], changes[ci][0] + arg[2])
                elif what == "cancel_temp":
                    temp = None
                ci += 1
            if temp is not None and a >= temp[2]:
                temp = None
            if suspended:
                rate = 0
            elif temp is not None:
                rate = temp[0] if temp[1] is None else self.profile_rate(a) * temp[1] // 100
            else:
                rate = self.profile_rate(a)
            total += Fraction(rate * (b - a), MS_PER_H)
        return total
