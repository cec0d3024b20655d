"""Occlusion detector (OCC-1): the line stops letting the pulses out.

With the set in place, each pulse's pressure bump decays with the line's time
constant (tens of seconds); a blocked line holds it. For the current pulse
interval, and for the last few intervals together (at most WINDOW_MS back, so
that slow offset drift cannot pile up), the detector compares how much the
pressure actually fell (``dec``) with the least it must have fallen if the
line flowed with the slowest plausible time constant (``exp``): TAU_SLOW_MS
until the site is learned, then twice its own time constant (40..90 s):

    occluded evidence  <=>  exp >= significance  and  2 * dec < exp

Both sides are means of many samples where the interval allows (``a``: the
bump from 2 to 5 s after the pulse; the end: the last 3.2 s), and the
significance comes from the noise this line measured: exp / 2 (the margin on
both sides) must stand 5 standard deviations of ``dec`` (from the noise sigma
and how many samples each side averages) plus a drift allowance. A rise within
one interval counts for at most CLIP_SD standard deviations when intervals are
added (a movement step is one interval's rise; a blocked line holds in every
interval). So at low basal rates one held pulse is enough after about a minute
even on a noisy sensor, and at bolus rates the evidence of a few intervals adds
up. Evidence must stand for PERSIST evaluations net (30 s: longer than a
movement step lasts) or, with pulses close together, through CLOSE_PULSES
pulses before the detector reports.
"""

from array import array

from pump.compat import const, micropython, ptr32
from pump.linefeat import AVG_N

TAU_SLOW_MS = const(90000)  # slowest plausible flowing line, before the site is learned
TAU_SLOW_MIN_MS = const(40000)
LEARNED_FACTOR = const(2)  # once learned: flowing means tau < 2 x this site's own tau
# 4096 * (1 - exp(-i/8)), i = 0..32: fraction a bump must lose in i * TAU_SLOW/8
_FALL_Q12 = (
    0, 481, 906, 1281, 1612, 1904, 2161, 2389, 2589, 2766, 2922, 3060, 3182, 3289, 3384, 3468, 3542,
    3607, 3664, 3715, 3760, 3799, 3834, 3865, 3892, 3916, 3937, 3956, 3972, 3987, 4000, 4011, 4021,
)  # fmt: skip
K = const(8)  # completed intervals kept
WINDOW_MS = const(180000)  # evidence never spans more than this
SIG_K = const(10)  # evidence needs exp / 2 >= 5 sigma of dec: no flowing line falls short
SIG_FLOOR_PA = const(50)  # a count of quantisation and what the filters leave
DRIFT_PA_PER_S = const(2)  # drift, random walk and tissue wander: a few kPa a day at most
PERSIST = const(61)  # evaluations with evidence (one every 500 ms, net of those without):
# 30 s, longer than a movement step lasts (5 to 30 s): a step the features missed cannot
# raise it
# or, pulses close together (a bolus), the evidence standing through this many of them: a
# movement step makes one interval rise, which CLIP_SD takes out; a blocked line makes every
# interval hold
CLOSE_PULSES = const(2)
CLOSE_MS = const(5000)
CLIP_SD = const(2)
VAR_Q = const(92)  # 64 x 1.44: variance of a mean of n median-of-3 samples, x n, in sigma^2/64
AVG_MS = AVG_N * 100  # the span of feat.avg
_NOISE_DIV = const(125)  # pump.linefeat.NOISE_DIV (viper code: a const here)


@micropython.native  # every check: native code skips the bytecode interpreter
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


@micropython.native
def isqrt(n):
    """Integer square root (n >= 0), a few Newton steps."""
    if n < 2:
        return n
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


class OcclusionDetector:
    def __init__(self):
        self._dec = array("i", [0] * K)
        self._exp = array("i", [0] * K)
        self._var = array("i", [0] * K)
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
        self._d = 0  # the current interval (see _interval)
        self._e = 0
        self._v = 0
        self._close_pulses = 0  # pulses close together while the evidence stood
        self.evidence = False
        self.occluded = False

    @micropython.native
    def _interval(self, feat):
        """The current pulse's interval so far into ``_d`` (dec), ``_e`` (exp) and ``_v``
        (var); False when there is none yet (no tuple: nothing is allocated per tick)."""
        since = feat.since
        # one name at a time: a 4-name assignment builds a tuple on MicroPython
        if feat.a_ok:
            a = feat.a
            a_t = feat.a_t
            eb = feat.eb
            a_n = feat.a_n
        elif feat.early():
            a = feat.a1
            a_t = feat.a1_t
            eb = feat.eb1
            a_n = 4
        else:
            return False
        if since - AVG_MS >= a_t and not feat.fresh:
            end = feat.avg
            end_t = since - (AVG_MS >> 1)
            var = VAR_Q // AVG_N
        else:
            end = feat.level
            end_t = since - 200  # the 4-sample mean centres 0.2 s back
            var = VAR_Q // 4
        dt = end_t - a_t
        if dt <= 0:
            return False
        self._d = a - end
        self._e = eb * min_fall_q12(dt, self.tau_slow) >> 12
        self._v = var + VAR_Q // a_n
        return True

    def on_pulse(self, feat):
        """Close the interval of the previous pulse (call before ``feat.pulse``)."""
        if not feat.a_ok:
            return
        if not self._interval(feat):
            return
        i = self._i
        self._dec[i] = self._clip(self._d, self._v, feat.noise_pa())
        self._exp[i] = self._e
        self._var[i] = self._v
        if self.streak and feat.since < CLOSE_MS:
            self._close_pulses += 1
        self._dur[i] = feat.since
        self._i = (i + 1) % K
        if self._n < K:
            self._n += 1

    @micropython.native
    def _clip(self, dec, var, noise):
        """A rise between pulses is no flow, but only the noise can make a flowing line
        rise: more than CLIP_SD standard deviations is something else (a movement step, a
        knock), and one interval must not speak for the others."""
        low = -CLIP_SD * noise * isqrt(var) // 8
        return dec if dec > low else low

    @micropython.viper
    def check(self, feat):
        """Update from the latest sample; returns True once the line is judged occluded.

        Runs twice a second, as a viper function: the rings are read by pointer (sign-fixed:
        ptr32 loads zero-extend on a 64-bit port), ``noise_pa``, ``_clip``, ``isqrt`` and the
        significance test (exp / 2 must stand SIG_K / 2 sigma of dec and what the sensor
        may drift over the span) are inlined, since a call or an attribute read costs more
        than the arithmetic here. The same source runs as plain Python under CPython
        (tests/test_twins.py, through LineWatch.sample). Every product stays below 2**30."""
        if not self._interval(feat):
            return self.occluded  # no new information yet: keep the streak
        one = 1
        sx = one << 31
        mx = (sx << 1) - 1
        evidence = False
        span = int(feat.since)
        if span <= WINDOW_MS:
            noise = int(feat.noise64) // _NOISE_DIV  # feat.noise_pa()
            s_dec = int(self._d)
            s_exp = int(self._e)
            s_var = int(self._v)
            root = s_var  # isqrt(s_var), inlined
            if root >= 2:
                x = root
                y = (x + 1) >> 1
                while y < x:
                    x = y
                    y = (x + s_var // x) >> 1
                root = x
            low = -CLIP_SD * noise * root // 8  # self._clip(s_dec, s_var, noise)
            if s_dec < low:
                s_dec = low
            if 2 * s_dec < s_exp:
                floor = SIG_FLOOR_PA + DRIFT_PA_PER_S * (span // 1000)
                evidence = s_exp >= floor + SIG_K * noise * root // 8
            if not evidence:
                dur = ptr32(self._dur)
                dec = ptr32(self._dec)
                exp = ptr32(self._exp)
                var = ptr32(self._var)
                j = int(self._i)
                n = int(self._n)
                while n > 0:
                    j = j - 1 if j > 0 else K - 1
                    span += dur[j]
                    if span > WINDOW_MS:
                        break
                    s_dec += ((dec[j] + sx) & mx) - sx
                    s_exp += ((exp[j] + sx) & mx) - sx
                    s_var += var[j]
                    if 2 * s_dec < s_exp:
                        root = s_var  # isqrt(s_var), inlined
                        if root >= 2:
                            x = root
                            y = (x + 1) >> 1
                            while y < x:
                                x = y
                                y = (x + s_var // x) >> 1
                            root = x
                        floor = SIG_FLOOR_PA + DRIFT_PA_PER_S * (span // 1000)
                        if s_exp >= floor + SIG_K * noise * root // 8:
                            evidence = True
                            break
                    n -= 1
        self.evidence = evidence
        # a leaky count, not a run: evidence near its threshold flickers with the noise, and
        # a movement step (at most 30 s) can never add up to PERSIST on its own
        streak = int(self.streak)
        if evidence:
            streak += 1
            self.streak = streak
            if streak >= PERSIST or int(self._close_pulses) >= CLOSE_PULSES:
                self.occluded = True
        elif streak:
            streak -= 1
            self.streak = streak
            if not streak:
                self._close_pulses = 0
        return self.occluded
