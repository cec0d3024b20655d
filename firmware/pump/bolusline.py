"""The line during a bolus: its climb, pulse over pulse, against this site's open-line response.

During a bolus the pulses come every bolus period (the pulse over the bolus speed
setting: 0.6 to 6 s at 0.05 U, 2 s at the default 1.5 U/min), before a bump can be
seen to decay, so the interval-by-interval tests of pump/occlusion.py have little
to go on.
What a bolus gives instead is many pulses close together: a blocked line
CLIMBS by a whole bump per pulse (more on a line that stiffens with
pressure), whereas an open line lets out a share of its excess every
interval and levels off towards a plateau (flow x resistance). Per pulse of a
run (pulses closer than CLOSE_MS or 2.5 periods), with ``E`` the excess of the line over its
resting baseline at the start of the interval and ``rise`` how much the level
after the push climbed over the interval:

    open line:   rise = a - b * E        (a: the rise of one pulse into a line
                                           at rest; b: the share let out per
                                           interval, both learned on this site)
    blocked:     rise >= a               (nothing leaves: a whole bump stays)

``a`` and ``b`` are learned from this site's own open runs (its first intervals,
the line still low, against the rest, of each run that ended without an occlusion
alarm: a bolus, or the prime at a set change, DEL-7), not from a model: a line
that stiffens with pressure, a tissue depot filling under the cannula and the
real decay all fold into them. The excess of each interval over the learned
open line, ``ex = rise - (a - b * E)``, is about 0 on an open line and ``b * E``
on a blocked one. Each interval is judged at its last sample, before the next
pulse is made. The line is judged blocked when two of the last MEDIAN_N
intervals' ``ex`` stand above Z_SD standard deviations of ``ex`` (from the
measured noise and the samples each interval's level averages) plus twice the
spread ``ex`` showed on this site's open runs plus half of ``b * E`` (the site's
resistance wanders, a depot moves the plateau over a long bolus), and none below
half of that: a movement step's edge, smeared over two intervals by the filters,
is followed by intervals at the open line's response. Or, since a blocked line
holds back ``b * E`` in EVERY interval while the rises of successive intervals
telescope (the noise of their sum is that of its two end levels), by the sum:
``ex`` less that allowance (half of ``b * E`` and the spread), added up interval
by interval and never below 0 (a CUSUM; one interval adds at most ``b * E`` and
two SD, all a blocked line could), above Z_SD SD plus twice the spread, with the
last STREAK intervals each above the allowance (a step's edge is over in two), from
the run's LOW_N + 1st interval on (before, a line learned from one run can miss by more
than a blockage holds back). Only intervals at the bolus period are judged (a basal
pulse between two bolus pulses makes two short cycles at other phases).
A learning run's intervals more than OUTLIER times the mean distance off its
fitted line (a movement step's edge: the features cannot see steps during a
bolus) are fitted again without, and left out of the spread. A run that starts
far from rest (a bolus soon after another: a tissue depot that drains over
minutes) is neither judged nor learned from. Before the site has shown an open
run (a bolus or a prime) nothing is judged here (docs/detection.md: the first
bolus on a site; a stiffening line can then climb as a blocked one does for tens
of pulses).

A leak of p % at the site makes the open line let out b / (1 - p) per
interval: ``ex`` goes negative by about ``b * E * p / (1 - p)``; the leak
test asks the median of the last LEAK_MEDIAN_N intervals' ``ex`` to stand
below minus the same threshold, and only while ``E`` is within the highest
excess the site's open runs reached (``e_top``): the response is a straight
line measured over that range, and above it a line that stiffens with pressure
lets out more than the line says, as a leak does.

All per pulse or per cycle, nothing per tick; ints only, intermediates below 2**30.
"""

from array import array

from pump.compat import const
from pump.occlusion import isqrt

CLOSE_MS = const(5000)  # pulses closer than this are one run (a bolus), or 2.5 periods
REF_MS = const(2000)  # ``b`` is kept as the share let out per this many ms (the default period)
PERIOD_MIN_MS = const(300)  # the bolus period the settings allow: 0.025 U at 5 U/min
PERIOD_MAX_MS = const(12000)  # 0.1 U at 0.5 U/min
CYCLE_MAX_N = const(50)  # samples a cycle's mean holds at most (pump.linefeat.CYCLE_MAX_MS)
E_MAX = const(200000)  # the sensor's range: no excess is larger
MEDIAN_N = const(3)  # occlusion: the median of the last 3 intervals' ex
LEAK_MEDIAN_N = const(5)  # leak: the median of the last 5
RING = const(5)
Z_SD = const(3)
VAR_Q = const(92)  # 64 x 1.44: variance of a mean of n median-of-3 samples, x n, in sigma^2/64
MIN_BIN = const(3)  # intervals in each half of a run's excess range before it is learned from
MIN_RUN = const(8)
LOW_N = const(6)  # a run's first intervals (the line still low) against the rest
SPREAD_MAX = const(100000)
PERIOD_SLACK_MS = const(150)  # cycles this much (or 3/20 of the period) longer or shorter
# are not at the same phase
SETTLE_CYCLES = const(1)  # cycles after a change of period before the chain goes on
STREAK = const(3)  # occlusion by the sum: cycles in a row above the allowance
OUTLIER = const(3)  # an interval this many times the mean distance off the line is not the line's
KEEP = const(32)  # the last intervals of a run kept to measure how well the learned line fits
BOW_MIN16 = const(8)  # at 2 s and faster at least half the bow widens the spread


class BolusWatch:
    def __init__(self, period_ms=REF_MS):
        self.set_period(period_ms)
        self._ex = array("i", [0] * RING)
        self._tmp = array("i", [0] * RING)
        self._ke = array("i", [0] * KEEP)  # a run's intervals: excess at the start
        self._kr = array("i", [0] * KEEP)  # and rise
        self.forget()

    def set_period(self, period_ms):
        """The bolus pulse period (ms) from the bolus speed setting: what a run's cycles are
        judged at. A period that is no whole number of control ticks alternates two cycle
        lengths; each cycle is judged at the samples of the shorter (same phase)."""
        p = PERIOD_MIN_MS if period_ms < PERIOD_MIN_MS else period_ms
        p = PERIOD_MAX_MS if p > PERIOD_MAX_MS else p
        self.p_ms = p
        self.close_ms = CLOSE_MS if 2 * CLOSE_MS > 5 * p else 5 * p >> 1
        slack = 3 * p // 20
        self.slack_ms = PERIOD_SLACK_MS if slack < PERIOD_SLACK_MS else slack
        n = p // 100
        # 0 for a whole number of ticks: each cycle is judged at the length of the one before
        self.cycle_n = 0 if p % 100 == 0 else (CYCLE_MAX_N if n > CYCLE_MAX_N else n)
        # counts of cycles sized at the default period are kept in time at shorter ones: a
        # learning run at least MIN_RUN x 2 s long, the sum judged from LOW_N x 2 s into a run
        # (the share let out per cycle shrinks with the period, so a line learned from one run
        # misses by more than a blockage holds back for more cycles)
        self.min_run = MIN_RUN if p >= REF_MS else (MIN_RUN * REF_MS + p - 1) // p
        self.low_n = LOW_N if p >= REF_MS else (LOW_N * REF_MS + p - 1) // p
        # how much of the bow of a learning run's climb off its straight line widens the
        # spread (in 1/16): at shorter periods a run climbs further (its plateau goes as
        # 1 / period) into a line that stiffens with pressure, where the straight line fitted
        # to its ends misses its middle by as much as a blockage holds back; at 2 s at least
        # half of it (BOW_MIN16): a long bolus climbs as far there on a line that stiffens
        # steeply (day 2681681437: 58 kPa, a 495 Pa bow, its next bolus a false occlusion)
        w = (REF_MS - p) * 32 // REF_MS
        if p <= REF_MS and w < BOW_MIN16:
            w = BOW_MIN16
        self.bow16 = 0 if w < 0 else (16 if w > 16 else w)
        # how much of the rise a pulse into a line at rest falls short of a bump widens the
        # allowance (in 1/16): at longer periods most of a bump drains within the cycle, and
        # how much of it does moves with the site's resistance (posture, swelling); none at 2 s
        w = (p - REF_MS) * 16 // REF_MS
        self.drain16 = 0 if w < 0 else (16 if w > 16 else w)

    def forget(self):
        """A new site: its open-line response is learned again."""
        self.a = 0  # Pa: the rise of one pulse into this line at rest (0: not learned)
        self.b12 = 0  # Q12: the share of the excess this line lets out per REF_MS
        self.spread = 0  # Pa: mean |ex| over this site's open runs
        self.runs = 0  # open runs learned from
        self.e_top = 0  # Pa: the highest excess an open run it learned from reached
        self.a_fit = 0  # the fit _end_run works on
        self.b12_fit = 0
        self.reset()

    def reset(self):
        """Re-arm (keep what was learned about the site)."""
        self.ex = 0
        self.occluded = False
        self.leaking = False
        self.jref = 0  # Pa: the learned bump of one pulse (pump/disconnect.py), from on_pulse
        self._start_run(0)
        self.judged = False  # no baseline yet: a run is judged once a pulse starts it

    def _start_run(self, baseline):
        self.cus = 0  # the excess over the open line's allowance, added up (Pa)
        self.streak = 0  # cycles in a row above the allowance
        self._judged = False  # the cycle before the coming pulse was judged (on_cycle)
        self.n = 0  # intervals of this run judged
        self.b0 = baseline  # the resting baseline when the run started
        self.l_prev = 0  # the mean level of the cycle before
        self.period = 0  # ms between the run's pulses (0: no cycle seen yet)
        self.judged = True  # the run started near rest
        self._settle = 0
        self.i = 0
        self._lo_n = 0
        self._lo_e = 0
        self._lo_r = 0
        self._hi_n = 0
        self._hi_e = 0
        self._hi_r = 0
        self._mid_n = 0  # the cycles after the low ones (the middle of a long run's climb)
        self._mid_e = 0
        self._mid_r = 0
        self._top = 0  # the highest excess of this run's bolus-period cycles

    def learned(self):
        return self.runs > 0

    def on_pulse(self, feat, interval, jref, blocked):
        """A pulse is about to be made, ``interval`` ms after the one before (call before
        ``feat.pulse``). ``blocked``: an occlusion stands (the run is not learned from).
        Keeps the run's chain of cycles; each cycle is judged at its last sample, before
        the next pulse is made (``on_cycle``, when ``feat.cycle_end`` samples are in)."""
        self.jref = jref
        level = feat.cycle_level()
        judged = self._judged
        self._judged = False
        feat.cycle_end = 0
        p = self.p_ms
        if interval >= self.close_ms or interval <= 0:
            if self.n:
                self._end_run(jref, blocked)
            self._start_run(feat.baseline())
            # a run that starts far from rest (a bolus soon after another) holds a tissue
            # depot that drains over minutes, not at the line's pace: neither judged nor
            # learned from
            self.judged = feat.avg - self.b0 < jref
            return
        if not self.judged:
            return
        if 4 * interval < 3 * p or 2 * interval > 3 * p:
            # not the bolus period (a basal pulse between two bolus pulses: two short cycles
            # at other phases of the decay): neither judged nor learned from, and the chain
            # starts again at the bolus period (judged at half the period, such cycles raised
            # 3 false occlusions in 120 widened nominal days, 100 to 130 pulses into a bolus)
            self.period = 0
            return
        slack = self.slack_ms
        if self.period == 0 or not judged or interval - self.period > slack or (
            self.period - interval > slack
        ):
            # the first cycle of a run, or one of another length (a basal pulse between two
            # bolus pulses, a pulse before the cycle was full): its mean is not at the phase
            # of the next; start the chain again once the motor is back in step (a push may
            # still be going on)
            self.period = interval
            self.l_prev = level
            self._settle = SETTLE_CYCLES
        # the next cycle is judged when it holds as many samples as this one did, or as the
        # shorter of the two cycle lengths a period of no whole number of ticks alternates
        n = feat.cycle_n
        feat.cycle_end = n if n <= self.cycle_n or not self.cycle_n else self.cycle_n

    def on_cycle(self, feat):
        """The last sample of a cycle as long as the one before: its mean is at the chain's
        phase. Updates ``occluded`` and ``leaking``."""
        self._judged = True
        level = feat.cycle_level()
        if self._settle:
            self._settle -= 1
            self.l_prev = level
            return
        interval = self.period
        e = self.l_prev - self.b0
        e = 0 if e < 0 else (E_MAX if e > E_MAX else e)
        rise = level - self.l_prev
        self.l_prev = level
        self.n += 1
        if 2 * interval >= self.p_ms and 2 * interval <= 3 * self.p_ms:  # the bolus period
            self._record(e, rise)
        if not self.runs:
            return
        # what the open line would have let out in this interval (``b`` is per REF_MS: in
        # quarter ms, so the product stays below 2**30 up to the slowest period)
        out = (e * self.b12 >> 12) * (interval >> 2) // (REF_MS >> 2)
        ex = rise - (self.a - out)
        self.ex = ex
        self._ex[self.i] = ex
        self.i = (self.i + 1) % RING
        sd = self.sd(feat)
        # the noise, this site's spread, and half of what the open line lets out: its
        # resistance wanders (posture, swelling) and a depot filling under the cannula moves
        # its plateau over a long bolus, both in proportion (a blocked line keeps all of it)
        allow = (out >> 1) + self.spread
        thr = Z_SD * sd + 2 * self.spread + (out >> 1)
        if self.drain16:
            # half of what a pulse into a line at rest drains within a cycle (see set_period)
            d = self.jref - self.a
            if d > 0:
                d = d * self.drain16 >> 5
                allow += d
                thr += d
        # two of the last three intervals above the threshold and none far below it: a
        # movement step's edge (smeared over two intervals by the filters) is followed by
        # intervals at the open line's response, a blocked line's are not
        if self.n >= MEDIAN_N and self._med(MEDIAN_N) > thr and self._tmp[0] > thr >> 1:
            self.occluded = True
        # the excess over the allowance, added up cycle by cycle (a CUSUM): a blocked line
        # holds back what the open one lets out in EVERY cycle, while the noise of a sum of
        # rises is that of its two end levels only (the rises telescope); one cycle adds at
        # most what a blocked line could (all of ``out``, and the noise), and the last
        # STREAK cycles must each stand above the allowance (a step's edge is over in two).
        # Not judged in a run's first LOW_N cycles (their 12 s at shorter periods, ``low_n``):
        # there a line learned from one run can
        # miss by more than a blockage holds back (``b * E`` is small while ``E`` is), and
        # every cycle adds the miss (a false occlusion 10 s into a 2nd bolus, 1 of 120 widened
        # nominal days); the two-of-three test judges those cycles
        d = ex - allow
        cap = out + 2 * sd
        d = self.cus + (cap if d > cap else d)
        self.cus = d if d > 0 else 0
        self.streak = self.streak + 1 if ex > allow else 0
        # The sum judges only within the excess the site's open runs reached (``e_top``): above it
        # the learned line is an extrapolation, and a site learned from a short bolus can let
        # out half what it says at twice the excess (a depot, a stiffening line), an excess
        # of about half ``out`` every cycle that the sum adds up (a false occlusion 120
        # pulses into a 154-pulse bolus, day 3508307482); the two-of-three test, which needs
        # a whole ``out`` more, still judges there
        if (self.n > self.low_n and self.streak >= STREAK and e <= self.e_top
                and self.cus > Z_SD * sd + 2 * self.spread):
            self.occluded = True
        # the leak only where this site's open response was measured: above the highest
        # excess it was learned at, the line is an extrapolation, and one that stiffens with
        # pressure lets out more than the straight line says (its compliance, so its time
        # constant, falls): ex drifts below 0 as a leak's does. A leak shows from its onset,
        # at any excess, so one that starts low in a bolus is seen while the line climbs
        # through the measured range; one that starts higher is left to the settled pulses
        if self.n >= LEAK_MEDIAN_N and e <= self.e_top:
            if self._med(LEAK_MEDIAN_N) < -thr:
                self.leaking = True

    def _record(self, e, rise):
        """One bolus-period cycle (level excess ``e``, its rise) into the run's learning sums:
        the last KEEP cycles, and the low and high halves of the line fit."""
        n = self.n
        k = (n - 1) % KEEP
        if e > self._top:
            self._top = e
        self._ke[k] = e
        self._kr[k] = rise
        if n <= LOW_N:
            self._lo_n += 1
            self._lo_e += e
            self._lo_r += rise
        else:
            self._hi_n += 1
            self._hi_e += e
            self._hi_r += rise
            if n <= 3 * LOW_N:
                self._mid_n += 1
                self._mid_e += e
                self._mid_r += rise

    def sd(self, feat):
        """The standard deviation of one interval's ex from the noise alone: two levels,
        each a mean of ``feat.cycle_n`` median-of-3 samples. The thresholds add twice this
        site's open-run spread (which holds that noise once more: without it, a 2nd-bolus
        occlusion came 1 to 3 pulses sooner but a widened nominal day raised a false
        occlusion at a bolus's start, where the learned line misses most and the spread,
        from a run's last cycles, looks least)."""
        n = feat.cycle_n if feat.cycle_n > 0 else 1
        return feat.noise_pa() * isqrt(8 * VAR_Q // n) >> 4

    def _med(self, n):
        """The median of the last ``n`` ex (a small insertion sort into a scratch array)."""
        tmp = self._tmp
        j = self.i
        for k in range(n):
            j = j - 1 if j else RING - 1
            v = self._ex[j]
            m = k
            while m and tmp[m - 1] > v:
                tmp[m] = tmp[m - 1]
                m -= 1
            tmp[m] = v
        return tmp[n >> 1]

    def _fit(self, jref):
        """The open line's response from this run's two bins (``a_fit``, ``b12_fit``); False
        when the run's excess spans too narrow a range to see the share let out."""
        if self._lo_n < MIN_BIN or self._hi_n < MIN_BIN:
            return False
        e_lo = self._lo_e // self._lo_n
        e_hi = self._hi_e // self._hi_n
        r_lo = self._lo_r // self._lo_n
        r_hi = self._hi_r // self._hi_n
        if e_hi - e_lo < 2 * jref:
            return False
        b12 = ((r_lo - r_hi) << 12) // (e_hi - e_lo)
        b12 = 0 if b12 < 0 else (4096 if b12 > 4096 else b12)
        a = r_lo + (e_lo * b12 >> 12)
        self.a_fit = a if a > 0 else 0
        self.b12_fit = b12
        return True

    def _dev(self, n, cap):
        """The mean |distance| from the fitted line of the kept intervals not farther than
        ``cap``."""
        dev = 0
        m = 0
        a = self.a_fit
        b12 = self.b12_fit
        for k in range(n):
            d = self._kr[k] - a + (self._ke[k] * b12 >> 12)
            d = d if d > 0 else -d
            if d <= cap:
                dev += d
                m += 1
        return dev // m if m else cap

    def _drop(self, n, cap):
        """Take the kept intervals farther than ``cap`` from the fitted line out of the bins
        (slot k holds interval j = k + 1 + KEEP x whole wraps); True if any was."""
        dropped = False
        a = self.a_fit
        b12 = self.b12_fit
        for k in range(n):
            e = self._ke[k]
            r = self._kr[k]
            d = r - a + (e * b12 >> 12)
            if d > cap or -d > cap:
                j = k + 1 + KEEP * ((self.n - 1 - k) // KEEP)
                if j <= LOW_N:
                    self._lo_n -= 1
                    self._lo_e -= e
                    self._lo_r -= r
                else:
                    self._hi_n -= 1
                    self._hi_e -= e
                    self._hi_r -= r
                dropped = True
        return dropped

    def _through_rest(self, jref):
        """Does the fitted line pass near rest as this site's line does? A pulse into a
        line at rest rises by about a bump (``jref``, learned on the settled pulses) less
        what drains within the cycle (half the fitted share, ``b12_fit``): the intercept
        ``a_fit`` stands above three quarters of that on the open runs seen (477 fits over
        100 widened nominal days and the bench's 180 tasks with an earlier run: 0.80 x or
        more, but for one disturbed run at 0.58 x). A run whose first cycles were lost (a
        basal pulse in the chain) with a movement step under them was fitted far above rest
        and its intercept is an extrapolation: 0.39 x jref on the day it raised a false
        occlusion in the site's next bolus; 0.73 x on another, whose first cycles let out
        twice what the rest of the run says (docs/detection.md section 4). True if jref is
        not learned yet (nothing to compare with), and at periods longer than REF_MS: there
        most of a bump drains within the cycle (``drain16``), a site's first cycles are at
        its plateau already, and open runs were fitted at 0.1 to 1.2 x jref (6 s)."""
        if jref <= 0 or self.drain16:
            return True
        return 4 * self.a_fit >= 3 * (jref - (jref * self.b12_fit >> 13))

    def _end_run(self, jref, blocked):
        """The run ended: learn this site's open-line response from it, unless the line was
        blocked (or judged so) meanwhile."""
        if blocked or self.occluded or self.leaking or not self.judged:
            return
        if self.n < self.min_run or self._lo_n < MIN_BIN or self._hi_n < MIN_BIN:
            return
        if not self._fit(jref):
            return
        # a movement step inside the run (the features cannot see one during a bolus) puts
        # one or two intervals far off the line: fit again without them
        n = self.n if self.n < KEEP else KEEP
        dev = self._dev(n, 1 << 29)
        if self._drop(n, OUTLIER * dev) and not self._fit(jref):
            return
        if not self._through_rest(jref):
            return
        a = self.a_fit
        # the fit's share is per bolus period, the one kept per REF_MS (a calibration kept
        # across a reboot that changed the bolus speed setting still holds)
        p = self.p_ms
        b12 = self.b12_fit * REF_MS // p
        b12 = 4096 if b12 > 4096 else b12
        if self.runs:
            a = self.a + ((a - self.a) >> 2)
            b12 = self.b12 + ((b12 - self.b12) >> 2)
            self.a_fit = a
            self.b12_fit = b12 * p // REF_MS
        # how far this run's intervals stood from the line now learned (the last KEEP), but
        # for those OUTLIER x the mean off it: a step's edge must not widen it for good
        dev = self._dev(n, OUTLIER * self._dev(n, 1 << 29))
        if self.bow16 and self._mid_n >= MIN_BIN:
            # the middle of the climb off the line (the last KEEP are at its plateau)
            m = self._mid_n
            bow = self._mid_r // m - self.a_fit + ((self._mid_e // m) * self.b12_fit >> 12)
            bow = (bow if bow > 0 else -bow) * self.bow16 >> 4
            if bow > dev:
                dev = bow
        if self.runs and dev < self.spread:
            dev = self.spread + ((dev - self.spread) >> 2)  # narrows slowly, widens at once
        self.spread = dev if dev < SPREAD_MAX else SPREAD_MAX
        self.a = a
        self.b12 = b12
        if self._top > self.e_top:
            self.e_top = self._top
        self.runs += 1

