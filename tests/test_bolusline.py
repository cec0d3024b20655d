"""Occlusion during a bolus (pump/bolusline.py): the climb against the site's open-line response.

On sampled widened plants (slow pushes, stiffening line, depot, movement, noise to 500 Pa):
the detectors learn the open line's response from a bolus that ends without an alarm,
keep it across reboots (pump/linecal.py), raise nothing on a second open bolus, and find a
blockage that starts in the middle of a later bolus within a few pulses (3 to 4 typically;
the bound here, 8, is the slowest seen on a slow, noisy site).
"""

import pytest
from boards.emu import plantparams
from hypothesis import given, settings
from hypothesis import strategies as st
from pump import linecal
from pump.bolusline import BolusWatch
from pumpctl import detectbench
from pumpctl.linesim import BOLUS_PULSE_MS, simulate

HOUR = 3600000
FIRST = (HOUR // 2, 40)  # a 2 U bolus half an hour into the site: open, learned from
SECOND = HOUR


def _plant(seed):
    return plantparams.sample(seed, first_wave=False)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_property_an_open_bolus_is_learned_and_a_second_raises_nothing(seed):
    out = simulate(_plant(seed), seed, SECOND + 600000, 1000, boluses=[FIRST, (SECOND, 100)])
    assert out.alarms == []
    bolus = out.watch.bolus
    assert bolus.runs == 2 and bolus.a > 0 and bolus.b12 > 0


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(10, 30))
def test_property_a_blockage_in_a_later_bolus_is_found_within_eight_pulses(seed, at_pulse):
    onset = SECOND + at_pulse * BOLUS_PULSE_MS + 700
    out = simulate(_plant(seed), seed, onset + 120000, 1000, [(onset, "occlusion", {})],
                   boluses=[FIRST, (SECOND, 100)], stop_on="occlusion", after_ms=onset)
    hits = [t for kind, t in out.alarms if kind == "occlusion"]
    assert hits, out.alarms
    pulses = sum(1 for t in out.pulses_ms if onset <= t <= hits[0])
    assert pulses <= 8, f"{pulses} pulses from onset to the alarm"


def test_the_first_bolus_on_a_site_is_not_judged_by_its_climb():
    """Nothing learned yet: a stiffening line can climb as a blocked one does."""
    watch = BolusWatch()
    assert not watch.learned()
    seed = 7
    out = simulate(_plant(seed), seed, HOUR // 2 + 400000, 1000, boluses=[FIRST])
    assert out.watch.bolus.runs == 1


def test_what_was_learned_of_the_bolus_survives_a_reboot():
    seed = 11
    out = simulate(_plant(seed), seed, HOUR // 2 + 400000, 1000, boluses=[FIRST])
    values = out.watch.learned()
    assert linecal.unpack(linecal.pack(values)) == values
    from pump.linewatch import LineWatch

    again = LineWatch(500)
    again.restore(values)
    b, b2 = out.watch.bolus, again.bolus
    assert (b2.runs, b2.a, b2.b12, b2.spread, b2.e_top) == (b.runs, b.a, b.b12, b.spread, b.e_top)
    assert b.runs == 1 and b.e_top > 0


def _learn_run(watch, outliers):
    """Hand a run of 30 open intervals to the bolus watch, the line's rise 1200 Pa less
    300/4096 of the excess, +-20 Pa of noise, plus ``outliers`` {interval: Pa}."""
    watch._start_run(0)
    for j in range(1, 31):
        e = 300 * j
        rise = 1200 - (e * 300 >> 12) + (20 if j % 2 else -20) + outliers.get(j, 0)
        watch.n = j
        watch._record(e, rise)  # as the bolus period's cycle j
    watch._end_run(1500, False)


def test_a_movement_step_inside_a_learning_run_does_not_bend_what_is_learned():
    """A step's edge (invisible to the features during a bolus) puts one or two intervals
    far off the open line: the fit and the spread are taken without them."""
    clean = BolusWatch()
    _learn_run(clean, {})
    stepped = BolusWatch()
    _learn_run(stepped, {20: 2500, 21: 1000})
    assert clean.runs == stepped.runs == 1
    assert abs(stepped.b12 - clean.b12) <= 20 and abs(stepped.a - clean.a) <= 40
    assert stepped.spread <= clean.spread + 20


def test_a_bolus_climbing_past_what_the_site_was_learned_at_is_not_a_leak():
    """A site learned from a short bolus knows its open response up to the excess that bolus
    reached; a longer one climbs past it, where a line that stiffens with pressure (its
    compliance, so its time constant, falls) lets out more than the straight line learned
    says, as a leak would. Issue 15: 3 false leak alarms in 1000 widened nominal days, each
    in a long bolus on a site learned from a short one (these plants and basal rates are
    two of those days'; on each day's own line the leak was raised 9 to 44 cycles in)."""
    for seed, rate, first, second in ((3512549618, 1428, 12, 117), (596249941, 3847, 14, 125)):
        out = simulate(_plant(seed), seed, 2 * HOUR, rate,
                       boluses=[(HOUR // 2, first), (HOUR + 123456, second)])
        assert out.alarms == [], seed
        assert out.watch.bolus.runs == 2


def test_a_leak_low_in_a_bolus_is_found_within_the_learned_range():
    """Judging only where the response was measured still finds a leak that starts early in
    a bolus: it shows from its onset, while the line climbs through that range."""
    seed = 3512549618
    onset = HOUR + 2 * BOLUS_PULSE_MS + 700
    out = simulate(_plant(seed), seed, onset + 120000, 1428, [(onset, "leak", {"pct": 50})],
                   boluses=[FIRST, (HOUR, 100)], stop_on="leak", after_ms=onset)
    hits = [t for kind, t in out.alarms if kind == "leak"]
    assert hits, out.alarms
    assert sum(1 for t in out.pulses_ms if onset <= t <= hits[0]) <= 10


class _Cycles:
    """The three figures the bolus watch reads at a cycle's last sample (a stand-in for
    pump.linefeat.LineFeatures): the cycle's mean level, its samples and the noise sigma."""

    def __init__(self, noise_pa):
        self.level = 0
        self.cycle_n = 20
        self.noise = noise_pa

    def cycle_level(self):
        return self.level

    def noise_pa(self):
        return self.noise


def _judged_run(levels, noise_pa=300):
    """A learned open response (a 1200 Pa rise less 300/4096 of the excess per 2 s cycle,
    spread 60 Pa), then cycles at ``levels``: the cycle at which an occlusion is judged
    (None if never)."""
    watch = BolusWatch()
    watch.runs, watch.a, watch.b12, watch.spread, watch.e_top = 1, 1200, 300, 60, 20000
    watch._start_run(0)
    watch.period = 2000
    feat = _Cycles(noise_pa)
    watch.l_prev = levels[0]
    for i, level in enumerate(levels[1:], 1):
        feat.level = level
        watch.on_cycle(feat)
        if watch.occluded:
            return i
    return None


def _line(start, cycles, blocked_from=None, step=None):
    """Cycle levels of a line from ``start`` Pa over its baseline: the open response, a
    blockage (the whole rise stays) from cycle ``blocked_from``, and a movement step
    ``(cycle, Pa)`` split over that cycle and the next."""
    levels = [start]
    for i in range(1, cycles + 1):
        e = levels[-1]
        rise = 1200 if blocked_from is not None and i >= blocked_from else 1200 - (e * 300 >> 12)
        levels.append(e + rise)
    if step is not None:
        at, pa = step
        for i in range(at, len(levels)):
            levels[i] += pa * 6 // 10 if i == at else pa
    return levels


def test_a_blockage_is_judged_by_the_excess_added_up_before_any_one_cycle_shows_it():
    """On a noisy sensor (300 Pa) a blocked line holds back 220 to 400 Pa a cycle here,
    below the one-cycle threshold (3 SD + 2 spread + half of it, about 560 to 660 Pa): that
    test alone finds a blockage from cycle 1 at cycle 11, one from cycle 8 at 14. The sum
    finds them at 7 (it is not judged in a run's first LOW_N = 6 cycles, where a line learned
    from one run misses most: a false occlusion in 120 widened nominal days otherwise) and at
    10, the third blocked cycle; an open line is never judged blocked."""
    assert _judged_run(_line(3000, 40)) is None
    assert _judged_run(_line(3000, 12, blocked_from=1)) == 7
    assert _judged_run(_line(3000, 20, blocked_from=8)) == 10


def test_a_movement_step_during_a_bolus_is_not_an_occlusion():
    """A step of 3 kPa (the filters smear it over two cycles), then the open response: the
    cycles after it fall back to the allowance, so neither test is passed."""
    for at in (2, 5, 10):
        assert _judged_run(_line(3000, 30, step=(at, 3000))) is None


def test_a_steeply_stiffening_site_learned_from_a_long_bolus_takes_its_bow_at_2_s():
    """Fresh widened day 2681681437 (session 14; 95 Pa sensor, a line stiffening 39 % per
    10 kPa, tau 51 s): the site learned its line from a 157-pulse bolus that climbed to
    58 kPa, whose middle stood 495 Pa off the straight line fitted to its ends, with a spread
    of 27 Pa; its next bolus climbed 2.4 kPa a cycle where the line said 1.5 and the sum
    raised a false occlusion at its 8th cycle. Half the bow widens the spread at 2 s now (the
    bench's 100 bolus tasks at 2 s give the same pulses with it)."""
    assert detectbench.nominal_day(2681681437, widened=True, hours=20) == []


def test_the_sum_does_not_judge_above_the_excess_the_site_was_learned_at():
    """Fresh widened day 3508307482 (session 14; a depot of 14 %, a slow motor): the site
    learned its line from a 16-pulse bolus that reached 10 kPa; a 154-pulse bolus levelled
    off at 25 kPa, where the line says twice as much leaves each cycle, and the sum added
    the difference (about half of ``out`` a cycle, its allowance) into a false occlusion 120
    pulses in. Above ``e_top`` only the two-of-three test judges now (the bench's 180 bolus
    tasks at 0.6, 1 and 2 s give the same pulses)."""
    assert detectbench.nominal_day(3508307482, widened=True, hours=19) == []


@pytest.mark.parametrize("day", [2327548427, 1033702264])
def test_widened_nominal_days_that_raised_a_false_occlusion_in_a_bolus_raise_nothing(day):
    """Two of the first 120 widened nominal days, each raising a false occlusion on the
    summed bolus test's first forms. 2327548427 (4.5 U/h, a 178-pulse bolus on a site learned
    from a 52-pulse one): a basal pulse between two bolus pulses made two 1 s cycles at other
    phases of the decay, judged as a chain of their own 120 pulses into the bolus; only
    cycles at the bolus period are judged now. 1033702264 (a 2nd bolus on a site learned
    from one run): its first cycles rose 200 to 500 Pa above the learned line, more than a
    blockage would hold back there, and the sum passed its threshold at the 3rd cycle; the
    sum is judged from the 7th cycle of a run now."""
    assert detectbench.nominal_day(day, widened=True) == []


def test_a_learning_run_whose_line_misses_rest_is_not_learned_from():
    """Widened nominal day 3244647255 (4.8 U/h, 375 Pa, a line stiffening 28 % per 10 kPa):
    its first bolus lost its first cycles to a basal pulse in the chain, with a movement step
    under them, and was fitted 8 bumps above rest; the line's intercept (693 Pa for a
    1773 Pa bump) was an extrapolation, and the site's next bolus, rising a bump a cycle
    from near rest, raised a false occlusion at its 3rd cycle. A fit that does not pass near
    rest (a bump less what drains in a cycle) is not learned from now; the next open bolus
    is (1906 Pa for a 1759 Pa bump)."""
    watch = BolusWatch()
    watch.a_fit, watch.b12_fit = 693, 98
    assert not watch._through_rest(1773)
    watch.a_fit, watch.b12_fit = 1906, 272
    assert watch._through_rest(1759)
    watch.a_fit = 0
    assert watch._through_rest(0)  # no bump learned yet: nothing to compare with
    assert detectbench.nominal_day(3244647255, widened=True, hours=15) == []


def test_a_learning_run_fitted_well_below_rest_is_not_learned_from():
    """Fresh widened day 3723968762 (session 15; 3.95 U/h, 373 Pa sensor, 4 % depot, a
    1.1 s motor): the site learned its line from a 115-cycle bolus whose first 6 cycles rose
    905 Pa a cycle at 10.8 kPa of excess (a bump is 1783 Pa: far more left than the rest of
    the run says), so the line fitted through them and the plateau met rest at 0.73 x a
    bump less its drain; the next bolus, rising 1.3 to 1.7 kPa a cycle from near rest,
    summed a false occlusion at its 7th cycle. The fit must meet rest within a quarter now
    (477 fits over 100 days and 180 bench tasks: 0.80 x or more but one; docs/detection.md)."""
    watch = BolusWatch()
    watch.a_fit, watch.b12_fit = 1281, 143
    assert not watch._through_rest(1783)
    watch.a_fit = 1400  # 0.79 x: within a quarter of rest
    assert watch._through_rest(1783)
    assert detectbench.nominal_day(3723968762, widened=True, hours=18) == []


def test_a_run_that_starts_with_the_first_pulse_since_boot_starts_at_the_resting_baseline():
    """A prime is often the first pulse since boot. Its run must start from the baseline the
    samples measured: started from 0 Pa, a preload offset of a few kPa read as excess and
    bent the response the site was learned at (false leaks at the next bolus)."""
    from pump.linewatch import LineWatch
    from pump.pressure import pa_to_counts

    watch = LineWatch(50)
    now = 0
    for _ in range(600):  # a minute at rest on a 3 kPa preload
        now += 100
        watch.sample(now, pa_to_counts(3000))
    watch.pulse(now)
    assert watch.bolus.judged
    assert abs(watch.bolus.b0 - 3000) < 100, watch.bolus.b0


def test_after_a_rearm_nothing_is_judged_until_a_pulse_starts_a_run():
    watch = BolusWatch()
    watch.reset()
    assert not watch.judged


@pytest.mark.parametrize("day", [3651239968, 2979489707])
def test_widened_nominal_days_with_a_prime_at_boot_raise_no_false_leak(day):
    """Two of the 8 of 120 widened nominal days that, primed with 1 U a minute after boot,
    raised a false leak at the first bolus: the prime's run had started from 0 Pa."""
    assert detectbench.nominal_day(day, widened=True, prime=20) == []


# ---- the bolus speed (issue 15): the period from the setting -------------------------------


def test_the_bolus_period_sizes_runs_and_guards_and_the_default_keeps_the_constants():
    """At the default 2 s every figure is the constant the test was tuned with (but the
    bow, at least half of which widens the spread at 2 s since session 14: day 2681681437);
    at other periods a run reaches further (2.5 periods), the learning and judging guards
    sized in cycles of 2 s are kept in time at shorter periods, and a period that is no whole
    number of ticks is judged at its shorter cycle."""
    w = BolusWatch()
    figures = (w.p_ms, w.close_ms, w.slack_ms, w.cycle_n, w.min_run, w.low_n, w.bow16, w.drain16)
    assert figures == (2000, 5000, 300, 0, 8, 6, 8, 0)
    assert BolusWatch(2100).bow16 == 0  # slower: the bow does not count
    fast = BolusWatch(600)
    assert (fast.close_ms, fast.slack_ms, fast.min_run, fast.low_n, fast.bow16) == (
        5000, 150, 27, 20, 16)  # fmt: skip
    slow = BolusWatch(6000)
    assert (slow.close_ms, slow.slack_ms, slow.min_run, slow.low_n, slow.drain16) == (
        15000, 900, 8, 6, 16)  # fmt: skip
    assert BolusWatch(50 * 60000 // 1400).cycle_n == 21  # 1.4 U/min: cycles of 2.1 and 2.2 s


# a widened plant on which main (the period fixed at 2 s) took 89 pulses at 600 ms and 51 at
# 1000, 4000 and 6000 ms to find a blockage in the site's 2nd bolus (a 5 U bolus at 1 U/h)
SPEED_SEED = 3790138292


@pytest.mark.parametrize("bolus_ms, most", [(600, 20), (1000, 10), (4000, 5), (6000, 5)])
def test_a_blockage_in_a_bolus_at_the_users_bolus_speed_is_found_within_pulses(bolus_ms, most):
    got = detectbench.one_run("occlusion", {}, "occlusion", 1000, 100, SPEED_SEED,
                              widened=True, prior=40, bolus_ms=bolus_ms)
    assert got is not None and got[0] <= most, got


@pytest.mark.parametrize("day, hours", [(747743766, 8), (2078299908, 9), (4045731357, 7),
                                        (1033702264, 9), (522321376, 9), (3134926141, 21)])
def test_widened_nominal_days_at_a_drawn_bolus_speed_raise_no_false_occlusion(day, hours):
    """Days (618, 1111, 789 and 4000 ms a pulse) that raised a false occlusion in a bolus when
    the test first took the period without its guards: a line that stiffens with pressure,
    climbing further at a faster speed, left the straight line learned from one run by as much
    as a blockage holds back (the bow of the learning run's climb now widens the spread); a
    short fast run learned the line from its low end; at 4 s most of a bump drains within the
    cycle, and how much moves with the site's resistance. 522321376 and 3134926141 (618 and
    697 ms at the speed setting) have motors that take 1,344 and 1,487 ms to push a pulse:
    trained at the speed setting, the pulses ran into one slow push that the test took for a
    blockage; the bolus now goes no faster than the motor (pump.bolus.bolus_period_ms)."""
    assert detectbench.nominal_day(day, widened=True, hours=hours, bolus_speed=True) == []


def test_the_line_task_takes_the_bolus_period_from_the_settings():
    from emu import run_inprocess, scenario

    app, _ = run_inprocess(scenario(duration="0:01", settings={"bolus_u_per_min": 4.2}))
    assert app.line.watch.bolus.p_ms == 714  # 0.05 U at 4.2 U/min
