"""Features of the line pressure, per sample and per motor pulse.

The detectors (occlusion, disconnect/leak) do not look at raw samples: they
look at what each pulse did to the line. This module turns the 10 Hz pressure
stream (Pa, ints) and the pulse times into those features, with integer math
and no allocation per sample:

- median of 3 (kills single-sample spikes), minus the movement offset, then
  ``level``: mean of 4, and ``avg``: mean of the last AVG_N (3.2 s), for the
  comparisons noise would otherwise swamp;
- movement: a jump of the level outside any pulse's window (nothing in a line
  rises between pulses; a decay is never a jump) is a pressure step on pump or
  site. It moves the baseline and the bump alike, so it is taken out of every
  later sample (``off``) until the step ends (the jump back);
- baseline ``B``: the pressure of the line at rest (sensor offset + tissue
  back-pressure), a lower envelope that falls fast and rises at most 3 Pa/s;
- noise: mean |second difference| of the raw samples away from pulses (a
  straight-line trend does not count), clipped at 4x its own mean so that
  spikes and steps cannot inflate it: sigma = E|d2| / 1.954;
- per pulse: ``pre`` (level at the pulse) and its slope; ``a``: the mean of
  the samples from A_FROM_MS to A_TO_MS after the pulse (the motor has
  finished: pulses take up to 1.5 s) and ``a_t``, the time they centre on;
  ``e1 = a - B``; ``r`` (``a`` minus the pre-pulse trend: what the pulse left
  in the line); ``leak_l`` (log2 of the decay of the excess
  pressure from ``a`` to the mean at L_AT_MS, scaled to a 9 s span, Q8).
"""

from array import array

from pump.compat import const, micropython, ptr32
from pump.ticks import ticks_diff

A_FROM_MS = const(2000)  # the slowest motor pulse (1.5 s) and the 4-sample mean are done
A_TO_MS = const(5000)
L_AT_MS = const(13000)  # avg then centres on 11.4 s
QUIET_MS = const(2500)  # no noise estimate this soon after a pulse (1.5 s push, friction)
MOVE_QUIET_MS = const(3500)  # nor a movement step: the level 1 s before must be quiet too
CREEP16 = const(5)  # baseline rise per sample in 1/16 Pa: 3 Pa/s at 10 Hz
LONG_AGO = const(0x10000000)
AVG_N = const(32)  # samples in ``avg``
AVG_SHIFT = const(5)
JUMP_LAG = const(10)  # a movement step: level now against 1 s ago
JUMP_SETTLE = const(6)  # samples after a jump is seen before it is measured
RISE_MAX_MS = const(3000)  # an isolated pulse's level peaks before this
RISE_GAP_MS = const(10000)  # a pulse this long after the one before shows its rise alone
NOISE_SETTLED = const(100)  # quiet samples before the noise estimate is trusted for steps
NOISE_DIV = const(125)  # 64 x E|d2| / sigma (E|d2| = sqrt(6 * 2 / pi) sigma = 1.954 sigma)
CYCLE_MAX_MS = const(5000)  # the mean level of the cycle is kept for pulses closer than this
_HALF = const(0x20000000)  # pump.ticks
_MASK = const(0x3FFFFFFF)

# LineFeatures._s: the private state, one int array (indices; rings at their offsets)
S_RI = const(0)  # next slot of the 4-sample ring
S_HI = const(1)  # next slot of the level history
S_VI = const(2)  # next slot of the AVG_N ring
S_SI = const(3)  # next slot of the slow history (the oldest level)
S_RSUM = const(4)  # sum of the 4-sample ring
S_VSUM = const(5)  # sum of the AVG_N ring
S_P1 = const(6)  # the raw samples before this one, for the second difference
S_P2 = const(7)
S_JUMP = const(8)  # samples until a jump seen is measured (0: none pending)
S_CSUM = const(9)  # the samples since the last pulse (closely spaced pulses)
S_USUM = const(10)  # the samples of the bump's window, their count, their ``since`` (100 ms)
S_UN = const(11)
S_UT = const(12)
S_PHASE = const(13)  # samples mod 10 (never grows)
S_MED = const(14)  # the two raw samples before this one, oldest first
S_RING = const(16)  # 4 levels' worth of filtered samples
S_HIST = const(20)  # the last 11 levels: 1 s of history
S_SLOW = const(31)  # a level every second: 10 s of history
S_AVG = const(42)  # the last AVG_N filtered samples
S_LEN = const(74)

EV_A = const(1)
EV_R = const(2)
EV_L = const(4)
EV_C = const(8)
EV_T = const(16)  # every fifth sample (a half second): the occlusion check's cadence

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
        # every private per-sample field and ring in one int array (layout: the S_* consts),
        # so the viper ``sample`` reads them through one pointer, not an attribute each
        self._s = array("i", [0] * S_LEN)
        self.reset()

    def reset(self):
        self.samples = 0  # 0 until the first sample, then 1 (primed)
        s = self._s
        for i in range(S_LEN):
            s[i] = 0
        self.level = 0
        self.avg = 0
        self.b16 = 0
        self.noise64 = 40 * NOISE_DIV  # start at a plausible 40 Pa until measured
        self.quiet_n = 0  # quiet samples seen (up to NOISE_SETTLED)
        self.off = 0  # movement offset taken out of every sample (Pa)
        self.moves = 0  # movement steps seen
        self._jback = False  # the jump pending is a fall no decay makes (see _fall)
        self.moved = False  # a step's edge fell inside this pulse's windows (see _fall)
        self._jbase = 0
        self._jb16 = 0
        self.step_b16 = 0  # the resting baseline when the offset that stands was taken (x16)
        self.fresh = 0  # samples until ``avg`` holds only samples after the last correction
        self.rise16 = A_FROM_MS << 4  # learned time from a pulse to its level's peak (x16)
        self._peak = 0
        self._peak_t = 0
        self._a1 = 0  # the level at the learned rise time, for pulses closer than A_FROM_MS
        self._a1_t = -1
        self.a1 = 0  # see early()
        self.a1_t = 0
        self.eb1 = 0
        self.pulses = 0
        self.t_pulse = 0
        self.since = LONG_AGO
        self.pre = 0
        self.pre_avg = 0
        self.pre_b16 = 0
        self.r_n = 0
        self.pre_drop10 = 0  # how much the level fell in the 10 s before the pulse (Pa)
        self.interval = LONG_AGO  # ms from the pulse before to this one
        self.a = 0
        self.a_t = 0  # ms after the pulse that ``a`` stands for
        self.a_n = 0  # samples averaged in ``a``
        self.e1 = 0
        self.eb = 0
        self.a_ok = False
        self.r = 0
        self.held = 0  # the line's pressure over its resting baseline when r was taken
        self.r_ok = False
        self.cycle_n = 0
        self.cycle_end = 0  # samples in a cycle of a run (pump/bolusline.py), 0: none
        self.leak_l = -1
        self.leak_sd = 0
        self.l_exact = False
        self.e2 = 0
        self.l_ok = False

    def baseline(self):
        return self.b16 >> 4

    @micropython.native  # the detectors ask for it every check
    def noise_pa(self):
        """Estimated raw-sample noise sigma in Pa."""
        return self.noise64 // NOISE_DIV

    @micropython.viper
    def sample(self, now: int, pa: int) -> int:
        """Feed one raw sample (Pa); returns EV_* bits for the features that became ready.

        Runs every control tick, so it is a viper function (machine-word ints: on
        MicroPython an attribute read costs about 150 x86 instructions and an add on objects
        about 60; here an add is one instruction). Its private state and rings are the int
        array ``_s``, read through one pointer; the public fields stay attributes. Under
        CPython the same source runs as plain Python (``ptr32`` is the array itself and
        ``int`` a no-op): tests/test_twins.py checks the two agree sample by sample. The
        rare paths (a movement step, the features after a pulse) keep their methods.
        Every value stays far below 2**30 (pressures of at most a few 100 kPa, 32 of them
        summed), so a 32-bit board computes the same ints."""
        s = ptr32(self._s)
        one = 1
        sx = one << 31  # ptr32 loads zero-extend on a 64-bit port: ((v + sx) & mx) - sx signs
        mx = (sx << 1) - 1  # them (on a 32-bit board and under CPython it changes nothing)
        if int(self.samples) == 0:
            self._prime(pa)
            self.samples = 1
        a = ((s[S_MED] + sx) & mx) - sx
        b = ((s[S_MED + 1] + sx) & mx) - sx
        s[S_MED] = b  # keep the two latest raw samples, oldest first
        s[S_MED + 1] = pa
        # median of (a, b, pa)
        if a > b:
            t = a
            a = b
            b = t
        m = pa if pa < b else b
        if m < a:
            m = a
        m -= int(self.off)
        ri = s[S_RI]
        rsum = (((s[S_RSUM] + sx) & mx) - sx) + m - (((s[S_RING + ri] + sx) & mx) - sx)
        s[S_RING + ri] = m
        s[S_RI] = (ri + 1) & 3
        s[S_RSUM] = rsum
        level = rsum >> 2
        self.level = level
        vi = s[S_VI]
        vsum = (((s[S_VSUM] + sx) & mx) - sx) + m - (((s[S_AVG + vi] + sx) & mx) - sx)
        s[S_AVG + vi] = m
        s[S_VI] = (vi + 1) & (AVG_N - 1)
        s[S_VSUM] = vsum
        self.avg = vsum >> AVG_SHIFT
        fresh = int(self.fresh)
        if fresh:
            self.fresh = fresh - 1
        hi = s[S_HI]
        lag = ((s[S_HIST + (hi + 1 if hi < JUMP_LAG else 0)] + sx) & mx) - sx  # level 1 s ago
        s[S_HIST + hi] = level
        s[S_HI] = hi + 1 if hi < 10 else 0
        phase = s[S_PHASE]
        phase = phase + 1 if phase < 9 else 0  # samples mod 10, never grows
        s[S_PHASE] = phase
        events = 0
        if phase == 0:
            si = s[S_SI]
            s[S_SLOW + si] = level
            s[S_SI] = si + 1 if si < 10 else 0
            events = EV_T
        elif phase == 5:
            events = EV_T
        # baseline: lower envelope, fast down, slow up
        b16 = int(self.b16)
        lvl16 = level << 4
        if lvl16 < b16:
            b16 += (lvl16 - b16) >> 2
        elif lvl16 > b16 + CREEP16:
            b16 += CREEP16
        else:
            b16 = lvl16
        self.b16 = b16
        pulses = int(self.pulses)
        since = LONG_AGO
        if pulses:
            since = ((now - int(self.t_pulse) + _HALF) & _MASK) - _HALF  # ticks_diff, inlined
            if since > LONG_AGO or since < 0:
                since = LONG_AGO
            self.since = since
        p1 = ((s[S_P1] + sx) & mx) - sx
        if since >= QUIET_MS:
            # away from pulses: noise estimate and movement steps
            jump = s[S_JUMP]
            if jump:
                jump -= 1
                s[S_JUMP] = jump
                if jump == 0:
                    self._move(level - int(self._jbase))
            else:
                d = pa - 2 * p1 + (((s[S_P2] + sx) & mx) - sx)
                if d < 0:
                    d = 0 - d
                noise64 = int(self.noise64)
                clip = (noise64 >> 4) + 64  # 4 x the mean, a count or so at least
                noise64 += (d if d < clip else clip) - (noise64 >> 6)
                self.noise64 = noise64
                quiet_n = int(self.quiet_n)
                if quiet_n < NOISE_SETTLED:
                    self.quiet_n = quiet_n + 1
                elif since >= MOVE_QUIET_MS:
                    jump = level - lag
                    thr = 4 * (noise64 // NOISE_DIV) + 25  # jump_pa(), inlined
                    off = int(self.off)
                    # a step's end needs less evidence: it is expected (off > 0 and about -off)
                    if jump > thr or (off > 0 and 0 - jump > (thr >> 1) and -2 * jump > off):
                        s[S_JUMP] = JUMP_SETTLE
                        self._jbase = lag
                        lag16 = lag << 4
                        self._jb16 = b16 if b16 < lag16 else lag16
                        self._jback = False
                    elif 0 - jump > thr and -2 * jump > lag - (b16 >> 4):
                        self._fall(lag)  # rare: a fall no decay makes
        else:
            s[S_JUMP] = 0  # a pulse came: whatever moved is the pulse
        s[S_P2] = p1
        s[S_P1] = pa
        if not pulses:
            return events
        if since < CYCLE_MAX_MS:
            s[S_CSUM] = (((s[S_CSUM] + sx) & mx) - sx) + m
            cycle_n = int(self.cycle_n) + 1
            self.cycle_n = cycle_n
            if cycle_n == int(self.cycle_end):
                events |= EV_C  # the cycle is as long as the one before: judge it now
        if since < RISE_MAX_MS:
            self._rise(since, level)
        if self.l_ok:  # taken last (13 s on), after a and r: nothing is left to take
            return events
        if not self.a_ok:
            if since >= A_FROM_MS:
                s[S_USUM] = (((s[S_USUM] + sx) & mx) - sx) + m
                s[S_UN] = s[S_UN] + 1
                s[S_UT] = s[S_UT] + since // 100
            if since >= A_TO_MS:
                self._take_a(since)
                events |= EV_A
        if not self.r_ok and self.a_ok:
            self._take_r(since)
            events |= EV_R
        if not self.l_ok and since >= L_AT_MS:
            self._take_l(since)
            events |= EV_L
        return events

    def climbed(self, pa):
        """True when the level 10 s ago (the oldest of the slow history) was above ``pa``."""
        s = self._s
        return s[S_SLOW + s[S_SI]] > pa

    def cycle_level(self):
        """The mean of the samples since the last pulse (``cycle_n`` of them), for pulses that
        come close together: at a fixed period every cycle's mean samples the line at the same
        phase, push and all, so cycle over cycle it climbs as the line does."""
        return self._s[S_CSUM] // self.cycle_n if self.cycle_n else self.level

    def rise_ms(self):
        return self.rise16 >> 4

    def _rise(self, since, level):
        """The motor's push as the sensor sees it: when an isolated pulse's level peaks
        (learned), and the level at that time for pulses that come close together."""
        if self._a1_t < 0 and since >= (self.rise16 >> 4):
            self._a1 = level
            self._a1_t = since - 200
        if self.interval < RISE_GAP_MS:
            return
        if self._peak_t < 0:
            return  # learned from this pulse already
        if level > self._peak:
            self._peak = level
            self._peak_t = since
        if since + 100 >= RISE_MAX_MS:
            self.rise16 += ((self._peak_t + 100 << 4) - self.rise16) >> 3
            self._peak_t = -1

    def jump_pa(self):
        """The least level change within 1 s taken for a movement step: 5 sigma of the
        difference of two 4-sample levels (0.8 x the raw sigma) and half a count."""
        return 4 * self.noise_pa() + 25

    def _fall(self, lag):
        """The level fell by more than half its excess over the baseline within 1 s, 3.5 s
        or more after the last pulse: no decay does that (a line that fast would have been
        empty by then), so a movement step ended, one whose start hid in a pulse's push or
        whose end was missed. This pulse's decay is not the line's (``moved``); the fall is
        taken back from the offset that stands, if any."""
        self.moved = True
        if self.off > 0:
            self._s[S_JUMP] = JUMP_SETTLE
            self._jbase = lag
            self._jb16 = self.b16 if self.b16 < (lag << 4) else lag << 4
            self._jback = True

    def _move(self, jump):
        """A movement step (or its end) of ``jump`` Pa: take it out of every later sample."""
        if jump < 0:
            jp = self.jump_pa()
            if self._jback:
                if 2 * -jump <= jp:
                    return  # it did not stand
            elif -3 * jump < self.off:
                return  # not the end of the step that stands
            if -jump + jp >= self.off:
                # about the offset that stands: all of it. What is left is the noise of the two
                # 1 s jumps the offset and this end were measured by, less than any step that
                # can be seen; left standing it would be taken out piece by piece later, as
                # the noise makes the level jump, in the middle of some pulse's decay (a false
                # occlusion: issue 15, day seed 823149702)
                jump = -self.off
        elif 2 * jump <= self.jump_pa():
            return
        self.off += jump
        self.moves += 1
        self.step_b16 = self._jb16
        s = self._s
        for i in range(S_RING, S_RING + 4):
            s[i] -= jump
        s[S_RSUM] -= jump << 2
        self.level -= jump
        for i in range(S_HIST, S_HIST + 11):
            s[i] = self.level
        self.b16 = self._jb16
        self.fresh = AVG_N
        if not self.a_ok:  # the bump's window straddles the step: start it again
            s[S_USUM] = 0
            s[S_UN] = 0
            s[S_UT] = 0

    def step_ended(self):
        """The movement step that stands ended inside this pulse's push: the line task found
        the pulse left less than half a bump, short by about the offset (a pulse only adds
        to the line; a step's end only takes away, and the push hides it from the jump
        test). Take the offset back and this pulse's bump and retention again, as if the
        end had been seen; its decay is not judged (``moved``: the window may straddle the
        end). Issue 15, day seeds 566484149 (a false disconnect) and 1173825672 (the offset
        left standing, taken back later in pieces inside a decay: a false occlusion)."""
        jump = self.off
        self.off = 0
        self.moves += 1
        s = self._s
        for i in range(S_RING, S_RING + 4):
            s[i] += jump
        s[S_RSUM] += jump << 2
        self.level += jump
        for i in range(S_HIST, S_HIST + 11):
            s[i] = self.level
        b16 = self.level << 4
        self.b16 = self.pre_b16 if self.pre_b16 < b16 else b16  # the rest before the pulse
        self.fresh = AVG_N
        self.moved = True
        s[S_USUM] += jump * s[S_UN]
        self.a_ok = False
        self._take_a(self.since)
        self._take_r(self.since)

    def offset_gone(self):
        """Call at a pulse, before its run or interval starts: True when the movement offset
        that stands has ended unseen, and takes it back. A step that ends inside a pulse's
        push hides from the jump test, and when the bump it left is not short enough to tell
        (step_ended) the offset stays: the level then rests about ``off`` below the baseline
        the step was taken at, which no line does (its baseline falls by a drift of a few
        Pa a second, a depot draining by a share of one bump). Left standing, the next
        step's end was taken for its end, and every later level read ``off`` too high: a
        held bump, a false occlusion (issue 15, fresh day seed 600072643)."""
        off = self.off
        if off <= 0 or (self.b16 >> 4) + (3 * off >> 2) >= (self.step_b16 >> 4):
            return False
        self.off = 0
        self.moves += 1
        s = self._s
        for i in range(S_RING, S_RING + 4):
            s[i] += off
        s[S_RSUM] += off << 2
        self.level += off
        for i in range(11):
            s[S_HIST + i] = self.level
            s[S_SLOW + i] += off
        for i in range(S_AVG, S_AVG + AVG_N):
            s[i] += off
        s[S_VSUM] += off * AVG_N
        self.avg += off
        self.b16 += off << 4
        return True

    def _prime(self, pa):
        s = self._s
        for i in range(S_MED, S_AVG + AVG_N):  # the median's samples and every ring
            s[i] = pa
        s[S_RSUM] = 4 * pa
        s[S_VSUM] = AVG_N * pa
        self.level = pa
        self.avg = pa
        self.b16 = pa << 4
        s[S_P1] = pa
        s[S_P2] = pa

    def _take_a(self, since):
        s = self._s
        un = s[S_UN]
        if un:
            self.a = s[S_USUM] // un
            self.a_t = s[S_UT] * 100 // un
            self.a_n = un
        elif self._a1_t > 0:  # the next pulse came before the window opened (a bolus)
            self.a = self._a1
            self.a_t = self._a1_t
            self.a_n = 4
        else:
            self.a = self.level
            self.a_t = since
            self.a_n = 4
        e1 = self.a - (self.b16 >> 4)
        self.e1 = e1 if e1 < 200000 else 200000
        # the bump over the pre-pulse mean: what must drain through this line's own
        # resistance (the excess over the resting baseline may hold a depot in the tissue
        # that drains over minutes: no line time constant applies to it)
        if un:
            eb = self.a - self.pre_avg
            self.eb = eb if eb < e1 else e1
        else:
            # pulses close together (a bolus): the pre-pulse mean still holds the pulses
            # before, and a line in place lets out what it holds above its resting
            # baseline; a quarter of it is allowed for the tissue depot under the line
            self.eb = e1 - (e1 >> 2)
        self.a_ok = True

    def early(self):
        """True when the current pulse's bump can be read before its window closes (a bolus:
        the next pulse comes first): ``a1``, ``a1_t`` and ``eb1`` then hold it, from the level
        at the learned push time (attributes, not a tuple: nothing allocated per tick)."""
        if self.a_ok or self._a1_t < 0 or self.since - 300 <= self._a1_t:
            return False
        self.a1 = self._a1
        self.a1_t = self._a1_t
        e1 = self._a1 - (self.b16 >> 4)
        self.eb1 = e1 - (e1 >> 2)
        return True

    def _take_r(self, since):
        # what the pulse left in the line: ``a`` against the pre-pulse trend (the 3.2 s mean
        # at the pulse, going on down with the 10 s slope), never below the resting baseline
        # (a decay ends at the baseline; a straight line would overshoot it)
        base = self.b16 >> 4
        self.held = (self.a if self.a_n >= 10 else self.level) - base
        if self.a_n >= 10:
            trend = self.pre_avg - self.pre_drop10 * (self.a_t + (AVG_N * 50)) // 10000
            self.r = self.a - (trend if trend > base else base)
        else:
            # pulses close together (a bolus): no trend can be seen between them, but a line
            # in place holds what the pulses put in above the resting baseline, an open one
            # lets it out through the tubing within a second or two
            self.r = self.level - base
        self.r_n = self.a_n
        self.r_ok = True

    def _take_l(self, since):
        e2 = self.avg - (self.b16 >> 4)
        e1 = self.e1
        span = since - (AVG_N * 50) - self.a_t  # avg centres AVG_N / 2 samples back
        self.e2 = e2
        # the standard error of each side, a mean of ~30 samples (sigma x 0.22), and a floor
        se = (self.noise_pa() * 15 >> 6) + 3
        self.l_exact = e2 > 2 * se
        if e1 >= 10 * se + 100 and span > 0 and not self.fresh and not self.moved:
            if e2 < 2 * se:
                e2 = 2 * se  # decayed into the noise: at least this fast (a lower bound)
            self.leak_l = (log2_q8(e1) - log2_q8(e2)) * 9000 // span
            # d log2(x) = dx / x / ln 2 (369 = 256 / ln 2); both sides: 3/4 of their sum is
            # about their quadrature sum when they are alike, and above it otherwise
            self.leak_sd = (369 * se // e1 + 369 * se // e2) * 6750 // span
        else:
            self.leak_l = -1
        self.l_ok = True

    def close(self):
        """A pulse is about to come: take what the last pulse's windows did not reach
        (pulses closer together than them). Returns the EV_* bits taken now."""
        events = 0
        if self.pulses:
            since = self.since
            if not self.a_ok:
                self._take_a(since)
                events |= EV_A
            if not self.r_ok:
                self._take_r(since)
                events |= EV_R
        return events

    def pulse(self, now):
        """The motor pushed a pulse at ``now`` (call ``close`` first)."""
        self.close()
        if self.samples:
            s = self._s
            drop = s[S_SLOW + s[S_SI]] - self.level  # 10 s ago minus now, >= 0
            self.pre_drop10 = drop if drop > 0 else 0
        self.pre = self.level
        self.pre_avg = self.avg
        self.pre_b16 = self.b16
        self.interval = ticks_diff(now, self.t_pulse) if self.pulses else LONG_AGO
        self.t_pulse = now
        self.pulses += 1
        self.since = 0
        self._peak = self.level
        self._peak_t = 0
        self._a1_t = -1
        s = self._s
        s[S_USUM] = 0
        s[S_UN] = 0
        s[S_UT] = 0
        s[S_CSUM] = 0
        self.cycle_n = 0
        self.moved = False
        self.a_ok = False
        self.r_ok = False
        self.l_ok = False
        self.leak_l = -1
