"""Occlusion detector (OCC-1): the line stops letting the pulses out.

With the set in place, each pulse's pressure bump decays with the line's time
constant (tens of seconds); a blocked line holds it. For the current pulse
interval, and for the last few intervals together (at most WINDOW_MS back, so
that slow offset drift cannot pile up), the detector compares how much the
pressure actually fell (``dec``) with the least it must have fallen if the
line flowed with the slowest plausible time constant (``exp``): TAU_SLOW_MS
until the site is learned, then three times its own time constant (40..90 s):

    occluded evidence  <=>  exp >= significance  and  2 * dec < exp

Significance is 10 sigma of the sample noise plus a drift allowance, so at
low basal rates one held pulse is enough after about a minute, and at bolus
rates, where intervals are short, the evidence of a few intervals adds up.
Evidence must hold for PERSIST consecutive evaluations before the detector
reports.
"""

from array import array

from pump.compat import const
from pump.linefeat import A_AT_MS

TAU_SLOW_MS = const(90000)  # slowest plausible flowing line, before the site is learned
TAU_SLOW_MIN_MS = const(40000)
LEARNED_FACTOR = const(3)  # once learned: flowing means tau < 3 x this site's own tau
# 4096 * (1 - exp(-i/8)), i = 0..32: fraction a bump must lose in i * TAU_SLOW/8
_FALL_Q12 = (
    0, 481, 906, 1281, 1612, 1904, 2161, 2389, 2589, 2766, 2922, 3060, 3182, 3289, 3384, 3468, 3542,
    3607, 3664, 3715, 3760, 3799, 3834, 3865, 3892, 3916, 3937, 3956, 3972, 3987, 4000, 4011, 4021,
)  # fmt: skip
K = const(8)  # completed intervals kept
WINDOW_MS = const(180000)  # evidence never spans more than this
SIG_NOISE = const(10)
SIG_FLOOR_PA = const(250)
PERSIST = const(3)  # consecutive evaluations (LineWatch runs one every 500 ms)


def min_fall_q12(dt_ms, tau_ms=TAU_SLOW_MS):
    """The fraction (Q12) a bump must at least lose in ``dt_ms`` if the line flows with a
    time constant of at most ``tau_ms``."""
    if dt_ms <= 0:
        return 0
    step = tau_ms >> 3
    i = dt_ms // step
    if i >= 32:
        return _FALL_Q12[32]
    lo = _FALL_Q12[i]
    return lo + (_FALL_Q12[i + 1] - lo) * (dt_ms - i * step) // step


class OcclusionDetector:
    def __init__(self):
        self._dec = array("i", [0] * K)
        self._exp = array("i", [0] * K)
        self._dur = array("i", [0] * K)
        self.reset()

    def learn_tau(self, tau_ms):
        """This site's own time constant (from the leak detector's learning), or 0."""
        if tau_ms <= 0:
            self.tau_slow = TAU_SLOW_MS
            return
        tau = LEARNED_FACTOR * tau_ms
        self.tau_slow = (
            TAU_SLOW_MIN_MS
            if tau < TAU_SLOW_MIN_MS
            else (TAU_SLOW_MS if tau > TAU_SLOW_MS else tau)
        )

    def reset(self):
        self.tau_slow = TAU_SLOW_MS
        self._n = 0
        self._i = 0
        self.streak = 0
        self.evidence = False
        self.occluded = False

    def on_pulse(self, feat):
        """Close the interval of the previous pulse (call before ``feat.pulse``)."""
        if not feat.a_ok:
            return
        dt = feat.since - A_AT_MS
        i = self._i
        self._dec[i] = feat.a - feat.level
        self._exp[i] = feat.e1 * min_fall_q12(dt, self.tau_slow) >> 12
        self._dur[i] = dt + A_AT_MS
        self._i = (i + 1) % K
        if self._n < K:
            self._n += 1

    def check(self, feat):
        """Update from the latest sample; returns True once the line is judged occluded."""
        if not feat.a_ok:
            return self.occluded  # within 1 s of a pulse: no new information, keep the streak
        evidence = False
        if feat.since - A_AT_MS <= WINDOW_MS:
            sig = SIG_NOISE * feat.noise_pa() + SIG_FLOOR_PA
            dt = feat.since - A_AT_MS
            s_dec = feat.a - feat.level
            s_exp = feat.e1 * min_fall_q12(dt, self.tau_slow) >> 12
            span = feat.since
            evidence = s_exp >= sig and 2 * s_dec < s_exp
            j = self._i
            n = 0
            while not evidence and n < self._n:
                j = (j - 1) % K
                span += self._dur[j]
                if span > WINDOW_MS:
                    break
                s_dec += self._dec[j]
                s_exp += self._exp[j]
                evidence = s_exp >= sig and 2 * s_dec < s_exp
                n += 1
        self.evidence = evidence
        if evidence:
            self.streak += 1
            if self.streak >= PERSIST:
                self.occluded = True
        else:
            self.streak = 0
        return self.occluded
