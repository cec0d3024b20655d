"""Disconnect and leak detectors (DIS-1): the pulses get out too easily.

Disconnect: with the set off (or the line cut), only the tubing resists and a
pulse's bump is gone within about a second; with the set in place most of it
is still there 2.5 s later. ``r`` (what the pulse left in the line at 2.5 s,
after removing the pre-pulse trend) below a third of the learned bump ``jref``
is an open pulse; OPEN_PULSES in a row raise the alarm (a pulse within
TREND_WINDOW_MS of the one before is not judged). Where a connector
switch is fitted, an open switch is a disconnect at once.

Leak: a leak of p% of the flow at the set is a parallel path that shortens
the time constant by (100 - p)%. The decay from 1 s to 10 s after a pulse,
``leak_l`` = log2(e1 / e2) in Q8, is proportional to 1/tau. The detector
learns its normal value for this site (``lref16`` = 16 x mean) and counts a
pulse as leaking when leak_l > 1.6 x learned; LEAK_PULSES in a row raise the
alarm (a 50 % leak doubles leak_l). A value above LEAK_ABS_Q8 (tau shorter
than any plausible site) counts even before learning has finished.

leak_l is measured against the resting baseline, which cannot be seen when the
line never comes to rest between pulses (high rates, the tail of a bolus): the
baseline then sits too high and leak_l reads too fast. So a pulse is judged
only if the line had settled before it: the pulse before came at least two
time constants earlier (the learned one, at least 30 s), and the residual
pressure the 10 s slope before the pulse implies (slope x tau) is below an
eighth of the bump, give or take the noise.
"""

from pump.compat import const

OPEN_PULSES = const(2)
LEAK_PULSES = const(3)
LEARN_PULSES = const(4)
LEAK_ABS_Q8 = const(460)  # 9 s of decay at tau = 7.2 s
GATE_TAU_MS = const(60000)  # the slowest site, until this one is learned
SETTLE_TAUS = const(2)  # judge a pulse only if the one before came >= 2 time constants earlier
SETTLE_MIN_MS = const(30000)
TREND_WINDOW_MS = const(1500)  # pre-pulse slope window (1 s) and the 4-sample level lag


class DisconnectDetector:
    def __init__(self, jump_pa):
        """``jump_pa``: the nominal bump of one pulse (pulse volume / nominal compliance)."""
        self.jump_nominal = jump_pa
        self.reset()

    def reset(self):
        self.jref = self.jump_nominal * 3 // 4
        self.open_streak = 0
        self.leak_streak = 0
        self.lref16 = 0
        self.learned = 0
        self.disconnected = False
        self.leaking = False

    def on_r(self, feat):
        """The retention of the last pulse is ready."""
        if feat.interval < TREND_WINDOW_MS:
            # the pulse before is inside the 1 s pre-pulse slope window (a basal pulse between
            # two bolus pulses): the trend r is measured against is not the line's decay
            return
        r = feat.r
        if 3 * r < self.jref:
            self.open_streak += 1
            if self.open_streak >= OPEN_PULSES:
                self.disconnected = True
            return
        self.open_streak = 0
        # learn this pump's bump (compliance varies between pumps), within 2x of nominal
        jref = self.jref + ((r - self.jref) >> 3)
        lo = self.jump_nominal // 2
        hi = self.jump_nominal * 2
        self.jref = lo if jref < lo else (hi if jref > hi else jref)

    def tau_ms(self):
        """This site's learned time constant in ms (0 until learned):
        leak_l = 9 s / tau / ln 2 * 256, so tau = 9000 * 256 / ln 2 / leak_l."""
        if self.learned < LEARN_PULSES or self.lref16 <= 0:
            return 0
        return 3323700 * 16 // self.lref16

    def on_l(self, feat):
        """The 1 s to 10 s decay of the last pulse is ready."""
        l_q8 = feat.leak_l
        if l_q8 < 0 or self.open_streak:
            return
        tau = self.tau_ms()
        if feat.interval < SETTLE_TAUS * (tau if tau > SETTLE_MIN_MS else SETTLE_MIN_MS):
            return  # pulses too close for this site to settle between them
        tau_s = (tau or GATE_TAU_MS) // 1000
        drop = feat.pre_drop10 if feat.pre_drop10 > 0 else -feat.pre_drop10
        noise = feat.noise_pa()
        if drop > (feat.e1 >> 3) * 10 // tau_s + noise + (noise >> 1):
            return  # the line had not settled before this pulse: leak_l would be biased
        leaking = l_q8 > LEAK_ABS_Q8 or (self.learned >= LEARN_PULSES and 10 * l_q8 > self.lref16)
        if leaking:
            self.leak_streak += 1
            if self.leak_streak >= LEAK_PULSES:
                self.leaking = True
            return
        self.leak_streak = 0
        if self.learned == 0:
            self.lref16 = l_q8 << 4
        else:
            shift = 2 if self.learned < 8 else 5
            self.lref16 += ((l_q8 << 4) - self.lref16) >> shift
        self.learned += 1
