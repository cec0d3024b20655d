"""Features of the line pressure, per sample and per motor pulse.

The detectors (occlusion, disconnect/leak) do not look at raw samples: they
look at what each pulse did to the line. This module turns the 10 Hz pressure
stream (Pa, ints) and the pulse times into those features, with integer math
and no allocation per sample:

- ``level``: median of 3 (kills single-sample spikes) then mean of 4;
- baseline ``B``: the pressure of the line at rest (sensor offset + tissue
  back-pressure), a lower envelope that falls fast and rises at most 3 Pa/s,
  faster than offset drift and tissue wander, far slower than a held pulse;
- noise: mean |difference| of consecutive raw samples away from pulses;
- per pulse: ``pre`` (level at the pulse) and its slope, ``a`` (level 1 s
  after: friction gone, bump intact), ``r`` (level 2.5 s after, minus the
  pre-pulse trend: what the pulse left in the line), and ``leak_l`` (log2 of
  the decay of the excess pressure from 1 s to 10 s, Q8: 256 = halved).
"""

from array import array

from pump.compat import const
from pump.ticks import ticks_diff

A_AT_MS = const(1000)
R_AT_MS = const(2500)
L_AT_MS = const(10000)
QUIET_MS = const(1500)  # no noise estimate this soon after a pulse (the jump is not noise)
CREEP16 = const(5)  # baseline rise per sample in 1/16 Pa: 3 Pa/s at 10 Hz
DIFF_CLIP = const(1000)
LONG_AGO = const(0x10000000)

EV_A = const(1)
EV_R = const(2)
EV_L = const(4)

# 256 * log2(1 + i/16), i = 0..16
_LOG2_FRAC = (0, 22, 44, 63, 82, 100, 118, 134, 150, 165, 179, 193, 207, 220, 232, 244, 256)


def log2_q8(x):
    """256 * log2(x) for an int x >= 1 (within 2/256), integer only."""
    n = 0
    while x >= 2048:
        x >>= 1
        n += 1
    while x < 1024:
        x <<= 1
        n -= 1
    # now 1024 <= x < 2048, the value is x / 1024 * 2**(n + 10)
    frac = x - 1024
    i = frac >> 6
    lo = _LOG2_FRAC[i]
    lin = lo + ((_LOG2_FRAC[i + 1] - lo) * (frac & 63) >> 6)
    return ((n + 10) << 8) + lin


class LineFeatures:
    def __init__(self):
        self._med = array("i", [0, 0])  # the two raw samples before this one
        self._ring = array("i", [0, 0, 0, 0])
        self._hist = array("i", [0] * 11)  # the last 11 levels: 1 s of history
        self._slow = array("i", [0] * 11)  # a level every second: 10 s of history
        self.reset()

    def reset(self):
        self.samples = 0  # 0 until the first sample, then 1 (primed)
        self.phase = 0
        self._ri = 0
        self._hi = 0
        self._rsum = 0
        self.level = 0
        self.b16 = 0
        self.noise64 = 40 * 72  # start at a plausible 40 Pa until measured
        self._prev = 0
        self.pulses = 0
        self.t_pulse = 0
        self.since = LONG_AGO
        self.pre = 0
        self.pre_slope = 0  # Pa/s, <= 0
        self.pre_drop10 = 0  # how much the level fell in the 10 s before the pulse (Pa)
        self.interval = LONG_AGO  # ms from the pulse before to this one
        self._si = 0
        self.a = 0
        self.e1 = 0
        self.a_ok = False
        self.r = 0
        self.r_ok = False
        self.leak_l = -1
        self.l_ok = False

    def baseline(self):
        return self.b16 >> 4

    def noise_pa(self):
        """Estimated raw-sample noise sigma in Pa (E|diff| = 1.128 sigma, scaled by 64)."""
        return self.noise64 // 72

    def sample(self, now, pa):
        """Feed one raw sample (Pa); returns EV_* bits for the features that became ready."""
        if self.samples == 0:
            self._prime(pa)
            self.samples = 1
        med = self._med
        a, b = med[0], med[1]
        # median of (a, b, pa)
        if a > b:
            a, b = b, a
        m = pa if pa < b else b
        if m < a:
            m = a
        med[0] = med[1]  # keep the two latest raw samples, oldest first
        med[1] = pa
        ring = self._ring
        self._rsum += m - ring[self._ri]
        ring[self._ri] = m
        self._ri = (self._ri + 1) & 3
        level = self._rsum >> 2
        self.level = level
        hist = self._hist
        hist[self._hi] = level
        self._hi = (self._hi + 1) % 11
        self.phase = self.phase + 1 if self.phase < 9 else 0  # samples mod 10, never grows
        if self.phase == 0:
            self._slow[self._si] = level
            self._si = (self._si + 1) % 11
        # baseline: lower envelope, fast down, slow up
        lvl16 = level << 4
        if lvl16 < self.b16:
            self.b16 += (lvl16 - self.b16) >> 2
        elif lvl16 > self.b16 + CREEP16:
            self.b16 += CREEP16
        else:
            self.b16 = lvl16
        if self.pulses:
            since = ticks_diff(now, self.t_pulse)
            if since > LONG_AGO or since < 0:
                since = LONG_AGO
            self.since = since
        else:
            since = LONG_AGO
        if since >= QUIET_MS:
            d = pa - self._prev
            if d < 0:
                d = -d
            if d > DIFF_CLIP:
                d = DIFF_CLIP
            self.noise64 += d - (self.noise64 >> 6)
        self._prev = pa
        if not self.pulses:
            return 0
        events = 0
        if not self.a_ok:
            if since >= A_AT_MS:
                self.a = level
                e1 = level - (self.b16 >> 4)
                self.e1 = e1 if e1 < 200000 else 200000
                self.a_ok = True
                events |= EV_A
        else:
            if not self.r_ok and since >= R_AT_MS:
                self._take_r(since)
                events |= EV_R
            if not self.l_ok and since >= L_AT_MS:
                self._take_l()
                events |= EV_L
        return events

    def _prime(self, pa):
        self._med[0] = pa
        self._med[1] = pa
        for i in range(4):
            self._ring[i] = pa
        for i in range(11):
            self._hist[i] = pa
            self._slow[i] = pa
        self._rsum = 4 * pa
        self.level = pa
        self.b16 = pa << 4
        self._prev = pa

    def _take_r(self, since):
        # the pre-pulse trend, extrapolated linearly, but never below the resting baseline
        # (a decay ends at the baseline; a straight line would overshoot it)
        trend = self.pre + self.pre_slope * since // 1000
        base = self.b16 >> 4
        self.r = self.level - (trend if trend > base else base)
        self.r_ok = True

    def _take_l(self):
        e2 = self.level - (self.b16 >> 4)
        e1 = self.e1
        if e1 >= 400 and e1 >= 10 * self.noise_pa() and e2 >= 1:
            self.leak_l = log2_q8(e1) - log2_q8(e2)
        else:
            self.leak_l = -1
        self.l_ok = True

    def pulse(self, now):
        """The motor pushed a pulse at ``now``. Returns EV_R if the last pulse's
        retention was taken early (pulses closer together than R_AT_MS)."""
        events = 0
        if self.pulses and self.a_ok and not self.r_ok:
            self._take_r(self.since)
            events = EV_R
        if self.samples:
            oldest = self._hist[self._hi]  # the level 1 s ago (the slot written next)
            slope = self.level - oldest
            self.pre_slope = slope if slope < 0 else 0
            self.pre_drop10 = self._slow[self._si] - self.level  # 10 s ago minus now
        self.pre = self.level
        self.interval = ticks_diff(now, self.t_pulse) if self.pulses else LONG_AGO
        self.t_pulse = now
        self.pulses += 1
        self.since = 0
        self.a_ok = False
        self.r_ok = False
        self.l_ok = False
        self.leak_l = -1
        return events
