"""Disconnect and leak detectors (DIS-1): the pulses get out too easily.

Disconnect: with the set off (or the line cut), only the tubing resists and a
pulse's bump is gone within about a second; with the set in place most of it
is still there seconds later. ``r`` (what the pulse left in the line 2 to 5 s
after it, against the pre-pulse trend) below half the learned bump ``jref`` is
an open pulse; OPEN_PULSES in a row raise the alarm. When the line is far from
rest (the end of a bolus, a high rate) its own decay dwarfs a bump and no trend
predicts it: what it holds above the resting baseline (``held``) is judged
instead, as for bolus pulses the next pulse cuts short (a line in place holds
pressure, an open one lets it out through the tubing). A pulse within
TREND_WINDOW_MS of the one before is not judged. Where a connector switch is
fitted, an open switch is a disconnect at once.

Leak: a leak of p% of the flow at the set is a parallel path that shortens
the time constant by (100 - p)%. The decay of the excess pressure after a
pulse, ``leak_l`` = log2(e1 / e2) in Q8, is proportional to 1/tau. The
detector learns its normal value for this site (``lref16`` = 16 x mean; a pulse above
the leak threshold counts as if at 1.25 x the mean, so a noisy site's mean is not censored
down) and its spread (``ldev16``), keeps the last LEAK_N judged pulses' excess over
1.5 x learned, and raises the alarm when the summed excess of the last n
(LEAK_MIN_N..LEAK_N) stands LEAK_Z2 variances (from the noise model or the
spread this site showed, whichever is larger): 3 pulses on a quiet sensor,
more on a noisy one (a 50 % leak doubles leak_l). No one pulse counts for more
than a 50 % leak makes or LEAK_CLIP of its own standard deviations, whichever
is more, so a decay bent by something else (a movement step the features could
not take out) cannot raise the alarm alone: a leak shows in every pulse. Before the site is learned
only a decay faster than any plausible site (LEAK_ABS_Q8) counts.

leak_l is measured against the resting baseline, which cannot be seen when the
line never comes to rest between pulses (high rates, the tail of a bolus): the
baseline then sits too high and leak_l reads too fast. So a pulse is judged
only if the line had settled before it: the pulse before came at least two
time constants earlier (the learned one, at least 30 s), and the residual
pressure the 10 s slope before the pulse implies (slope x tau) is below an
eighth of the bump, give or take the noise.
"""

from array import array

from pump.compat import const

OPEN_PULSES = const(2)
LEAK_PULSES = const(3)
LEARN_PULSES = const(4)
LEAK_ABS_Q8 = const(460)  # 9 s of decay at tau = 7.2 s
GATE_TAU_MS = const(60000)  # the slowest site, until this one is learned
SETTLE_TAUS = const(2)  # judge a pulse only if the one before came >= 2 time constants earlier
SETTLE_MIN_MS = const(30000)
TREND_WINDOW_MS = const(1500)  # a pulse this soon after the one before is not judged
LEAK_N = const(8)  # judged pulses the leak test looks back over
LEAK_MIN_N = const(3)  # and at least this many
LEAK_Z2 = const(12)  # (z = 3.5)^2: how many standard deviations the excess must stand
LEAK_CLIP = const(3)  # standard deviations one pulse's excess counts for at most
LEAK_RATIO16 = const(24)  # a pulse decays leak-fast above 24/16 = 1.5 x the learned rate
LEARN_CAP16 = const(20)  # a leak-fast pulse is learned from as if at 20/16 x the learned rate


class DisconnectDetector:
    def __init__(self, jump_pa):
        """``jump_pa``: the nominal bump of one pulse (pulse volume / nominal compliance)."""
        self.jump_nominal = jump_pa
        self._lx = array("i", [0] * LEAK_N)  # judged pulses: leak_l above the leak threshold
        self._lv = array("i", [0] * LEAK_N)  # and its variance
        self.reset()

    def reset(self):
        self.jref = self.jump_nominal * 3 // 4
        self.open_streak = 0
        self.leak_streak = 0  # judged pulses in the leak window (up to LEAK_N)
        self._li = 0
        self.lref16 = 0
        self.ldev16 = 0  # 16 x the mean |leak_l - learned| on this site: its own spread
        self.learned = 0  # pulses the decay was learned from
        self.updates = 0  # pulses anything was learned from (bump or decay)
        self.disconnected = False
        self.leaking = False

    def on_r(self, feat):
        """The retention of the last pulse is ready."""
        if feat.interval < TREND_WINDOW_MS:
            # the pulse before is inside the pre-pulse trend window (a basal pulse between
            # two bolus pulses): the trend r is measured against is not the line's decay
            return
        r = feat.r
        if feat.pre_avg - feat.baseline() > self.jref:
            # the line was far from rest (the end of a bolus, a high rate): its own decay
            # then dwarfs the bump, and no trend predicts it well; but a line in place
            # still holds pressure above its resting baseline, an open one does not
            if 2 * feat.held < self.jref:
                self._open()
            else:
                self.open_streak = 0
            return
        if 2 * r < self.jref:
            self._open()
            return
        self.open_streak = 0
        if feat.r_n < 10:
            return  # cut short by the next pulse: r is what the line holds, not one bump
        # learn this pump's bump (compliance varies between pumps), within 2x of nominal
        jref = self.jref + ((r - self.jref) >> 3)
        lo = self.jump_nominal // 2
        hi = self.jump_nominal * 2
        self.jref = lo if jref < lo else (hi if jref > hi else jref)
        self.updates += 1

    def _judge(self, l_q8, sd):
        """One judged pulse into the leak window; True when it decays faster than the leak
        threshold (on_l then learns from it as if at LEARN_CAP16). The alarm needs the mean
        excess of the last n pulses (LEAK_MIN_N..LEAK_N) to stand LEAK_Z2 standard
        deviations: three pulses on a quiet sensor, a handful on a noisy one."""
        x = l_q8 - (self.lref16 * LEAK_RATIO16 >> 8)
        spread = (self.ldev16 * 5) >> 6  # sigma = 1.25 x the mean absolute deviation
        if sd < spread:
            sd = spread  # the spread this site showed, if the noise model says less
        # no one pulse speaks for more than a half-flow leak makes (2x the learned decay: its
        # excess is half the learned value) or LEAK_CLIP of its own standard deviations,
        # whichever is more: a decay a disturbance bent (a movement step's edge the features
        # could not see) must not raise the alarm alone, and a real leak shows in every pulse
        # (3 pulses at 3 SD each still stand LEAK_Z2)
        clip = self.lref16 * (32 - LEAK_RATIO16) >> 8
        if clip < LEAK_CLIP * sd:
            clip = LEAK_CLIP * sd
        if x > clip:
            x = clip
        i = self._li
        self._lx[i] = x
        self._lv[i] = sd * sd if sd < 3000 else 9000000
        self._li = (i + 1) % LEAK_N
        if self.leak_streak < LEAK_N:
            self.leak_streak += 1
        sx = 0
        sv = 0
        for n in range(self.leak_streak):
            i = (i - 1) % LEAK_N if n else i
            sx += self._lx[i]
            sv += self._lv[i]
            if n + 1 >= LEAK_MIN_N and sx > 0 and sx * sx > LEAK_Z2 * sv:
                self.leaking = True
        return x > 0

    def _open(self):
        self.open_streak += 1
        if self.open_streak >= OPEN_PULSES:
            self.disconnected = True

    def tau_ms(self):
        """This site's learned time constant in ms (0 until learned):
        leak_l = 9 s / tau / ln 2 * 256 (linefeat scales it to a 9 s span), so
        tau = 9000 * 256 / ln 2 / leak_l."""
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
        sd = feat.leak_sd
        if self.learned < LEARN_PULSES:
            # not learned yet: only a decay faster than any plausible site counts
            if l_q8 - 2 * sd > LEAK_ABS_Q8:
                self.leak_streak += 1
                if self.leak_streak >= LEAK_PULSES:
                    self.leaking = True
                return
            self.leak_streak = 0
        elif self._judge(l_q8, sd):
            # faster than the leak threshold: learned from as if at LEARN_CAP16 (1.25 x the
            # mean: winsorized, not left out). Left out, such pulses censored the mean: on a
            # noisy site, whose decays scatter by as much as the learned value, the mean of
            # those under 1.5 x itself settles at half the site's true one, and most pulses
            # then stand above the threshold (a false leak, docs/detection.md section 4). A
            # leak's pulses raise the mean by 1/32 of a quarter of it each; the alarm needs 3 to 8
            l_q8 = self.lref16 * LEARN_CAP16 >> 8
        if not feat.l_exact:
            return
        if self.learned == 0:
            self.lref16 = l_q8 << 4
            self.ldev16 = l_q8 << 1  # a prior spread of an eighth until measured
        else:
            shift = 2 if self.learned < 8 else 5
            self.lref16 += ((l_q8 << 4) - self.lref16) >> shift
            dev = (l_q8 << 4) - self.lref16
            self.ldev16 += ((dev if dev > 0 else -dev) - self.ldev16) >> shift
        self.learned += 1
        self.updates += 1
