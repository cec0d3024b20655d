"""Detectors on constructed signals and on plant runs (pump/occlusion, disconnect, sensorcheck).

The constructed signals are written here with float math (the test side may);
the detectors see only integer ADC counts, as on a board.
"""

import math
import random

import pytest
from boards.emu import plantparams
from hypothesis import given, settings
from hypothesis import strategies as st
from pump.linefeat import log2_q8
from pump.linewatch import LineWatch
from pump.occlusion import min_fall_q12
from pump.sensorcheck import (
    CLEAR_SAMPLES,
    NOISY,
    NOISY_SAMPLES,
    OK,
    OUT_OF_RANGE,
    SNR_MIN_Q4,
    STUCK,
    SensorCheck,
)
from pumpctl import detectbench
from pumpctl.linesim import simulate

BASE_PA = 4000
BUMP_PA = 1667  # 0.5 uL into 0.3 uL/kPa


def counts(pa):
    return max(0, min(4095, round(pa * 4095 / 200000)))


def run_signal(
    period_ms,
    tau_before,
    tau_after,
    onset_ms,
    duration_ms,
    bump=BUMP_PA,
    noise=35,
    seed=1,
    first_ms=1000,
    steps=(),
):
    """Pulses every ``period_ms``; each bump decays with tau_before (ms) before the onset and
    tau_after after it (0 = never, None = no bump at all). ``steps``: movement steps, (start
    ms, end ms, Pa) added to the reading. Returns (alarm kinds with time, pulse times)."""
    rnd = random.Random(seed)
    watch = LineWatch(500)
    pulses = []
    excess = 0.0
    seen = {}
    for t in range(0, duration_ms, 100):
        tau = tau_before if t < onset_ms else tau_after
        if tau:
            excess *= math.exp(-100 / tau)
        pa = BASE_PA + excess + rnd.gauss(0, noise)
        pa += sum(step for start, end, step in steps if start <= t < end)
        watch.sample(t, counts(pa))
        for kind, flag in (
            ("occlusion", watch.occluded()),
            ("disconnect", watch.disconnected()),
            ("leak", watch.leaking()),
            ("sensor", watch.sensor_fault() != OK),
        ):
            if flag and kind not in seen:
                seen[kind] = t
        if t >= first_ms and (t - first_ms) % period_ms == 0:
            watch.pulse(t)
            pulses.append(t)
            if not (t >= onset_ms and tau_after is None):
                excess += bump
    return seen, pulses


def pulses_between(pulses, start, end):
    return sum(1 for p in pulses if start <= p <= end)


@pytest.mark.parametrize("period_ms", [2000, 36000, 180000, 1800000])
def test_a_flowing_line_raises_nothing(period_ms):
    seen, _ = run_signal(period_ms, 30000, 30000, 10**9, period_ms * 40 + 1000)
    assert seen == {}


@pytest.mark.parametrize("period_ms", [36000, 180000, 1800000])
def test_a_held_bump_is_an_occlusion_within_three_pulses(period_ms):
    onset = period_ms * 20 + 500
    seen, pulses = run_signal(period_ms, 30000, 0, onset, onset + period_ms * 6)
    assert "occlusion" in seen
    assert 1 <= pulses_between(pulses, onset, seen["occlusion"]) <= 3
    assert "disconnect" not in seen and "leak" not in seen


@pytest.mark.parametrize("period_ms", [36000, 180000, 1800000])
def test_a_missing_bump_is_a_disconnect_within_five_pulses(period_ms):
    onset = period_ms * 20 + 500
    seen, pulses = run_signal(period_ms, 30000, 300, onset, onset + period_ms * 8)
    assert "disconnect" in seen and "occlusion" not in seen
    assert pulses_between(pulses, onset, seen["disconnect"]) <= 5


@pytest.mark.parametrize("period_ms", [180000, 1800000])
def test_a_halved_time_constant_is_a_leak_within_ten_pulses(period_ms):
    onset = period_ms * 20 + 500
    seen, pulses = run_signal(period_ms, 30000, 15000, onset, onset + period_ms * 12)
    assert "leak" in seen and "occlusion" not in seen
    assert pulses_between(pulses, onset, seen["leak"]) <= 10


def test_a_slightly_faster_line_is_not_a_leak():
    seen, _ = run_signal(180000, 30000, 25000, 180000 * 20, 180000 * 40)
    assert seen == {}


def test_a_movement_step_hidden_in_a_push_and_ending_in_the_decay_is_not_a_leak():
    """A step that starts while the motor pushes (the features take it for the pulse) and
    ends inside the pulse's decay window makes that decay look fast; the fall at its end is
    faster than any line decays, so the pulse is not judged (issue 15: widened nominal days
    raised false leak alarms this way)."""
    period = 180000
    steps = [(1000 + period * k + 1200, 1000 + period * k + 6800, 1800) for k in (24, 25, 26)]
    seen, _ = run_signal(period, 30000, 30000, 10**9, period * 40, steps=steps)
    assert seen == {}


def test_a_step_end_missed_in_a_push_does_not_hide_the_next_steps_end():
    """A step whose end falls in a pulse's push leaves its offset standing; a later step that
    ends inside a pulse's decay window is still taken back, not read as a fast decay."""
    period = 180000
    steps = [(1000 + period * 22 - 20000, 1000 + period * 22 + 800, 2500)]
    steps += [(1000 + period * k - 10000, 1000 + period * k + 4500, 1200) for k in (26, 27, 28)]
    seen, _ = run_signal(period, 30000, 30000, 10**9, period * 40, steps=steps)
    assert seen == {}


def _offsets_at_pulses(period, steps):
    """run_signal on a 22 s line and a 280 Pa sensor, and the movement offset standing at
    each pulse."""
    offsets = []
    pulse = LineWatch.pulse

    def spy(watch, now):
        offsets.append(watch.feat.off)
        pulse(watch, now)

    LineWatch.pulse = spy
    try:
        seen, _ = run_signal(period, 22000, 22000, 10**9, period * 40, noise=280, steps=steps)
    finally:
        LineWatch.pulse = pulse
    return seen, offsets


def test_a_step_end_lost_to_a_pulse_is_taken_back_at_the_next_pulse():
    """A step that ends half a second before a pulse: the jump test waits 0.6 s to measure
    a jump, and the pulse wipes the pending one (a rise then is the pulse); the bump left
    is not short enough to tell the end (the trend read the fall as a decay), so the offset
    stood for the next 20 min, the next step's end was taken for its end, and every later
    level read 2 kPa high: a false occlusion (issue 15, fresh widened day seed 600072643).
    At the next pulse the level rests about the offset below the baseline the step was
    taken at, which no line does: the offset is taken back there."""
    period = 84000
    steps = [
        (1000 + period * 20 - 15000, 1000 + period * 20 - 500, 2000),
        (1000 + period * 35 + 1500, 1000 + period * 35 + 17000, 1500),
    ]
    seen, offsets = _offsets_at_pulses(period, steps)
    assert seen == {}
    # seen at the pulse after the one that wiped the end, taken back there
    assert min(offsets[20:22]) > 1500 and offsets[22:35] == [0] * 13, offsets[18:36]


def test_a_standing_step_keeps_its_offset_across_pulses():
    """A posture held over several pulses moves the baseline with the bumps: its offset
    stands until it ends (the baseline the step was taken at is where the level rests)."""
    period = 84000
    steps = [(1000 + period * 20 - 15000, 1000 + period * 24 + 30000, 2000)]
    seen, offsets = _offsets_at_pulses(period, steps)
    assert seen == {}
    assert min(offsets[20:25]) > 1500 and offsets[26:30] == [0] * 4, offsets[18:30]


def test_widened_day_whose_step_end_was_lost_to_a_pulse_raises_nothing():
    assert detectbench.nominal_day(600072643, widened=True) == []


def test_a_step_ending_inside_the_push_is_not_a_disconnect():
    """A step whose end falls in a pulse's push (the jump test is off there: a rise is the
    pulse) leaves the reading short of a bump by about the offset; twice in a row that read
    as two open pulses. Issue 15: a false disconnect in 1000 widened nominal days (day seed
    566484149: steps of 3.5 and 2.6 kPa ending 0.3 s before and at two pulses)."""
    period = 32000
    steps = [(1000 + period * k - 16000, 1000 + period * k + 300, 3000) for k in (30, 31)]
    seen, _ = run_signal(period, 20000, 20000, 10**9, period * 36, noise=120, steps=steps)
    assert seen == {}


def test_a_disconnect_under_a_standing_step_is_still_found():
    """The step-end test takes a short pulse for a step's end only with an offset standing:
    a disconnect during a step costs that one pulse at most."""
    period = 32000
    onset = 1000 + period * 30 + 200
    steps = [(1000 + period * 30 - 16000, 1000 + period * 30 + 20000, 3000)]
    seen, pulses = run_signal(period, 20000, None, onset, period * 40, noise=120, steps=steps)
    assert "disconnect" in seen
    assert pulses_between(pulses, onset, seen["disconnect"]) <= 3


def _step_offsets(noise, seed):
    """Movement steps of 3 kPa and 12 s every 3 min, between pulses 60 s apart, on a sensor
    with ``noise`` Pa: the movement offset the features hold 5 s after each step's end."""
    rnd = random.Random(seed)
    watch = LineWatch(500)
    feat = watch.feat
    excess = 0.0
    left = []
    for t in range(0, 3600000, 100):
        excess *= math.exp(-100 / 20000)
        step = 3000 if t > 600000 and 20000 <= t % 180000 < 32000 else 0
        watch.sample(t, counts(BASE_PA + excess + step + rnd.gauss(0, noise)))
        if t > 600000 and t % 180000 == 37000:
            left.append(feat.off)
        if t % 60000 == 0:
            watch.pulse(t)
            excess += BUMP_PA
    return left


def test_a_steps_end_takes_all_of_its_offset_back():
    """A step's size is measured twice, at its start and its end, each a jump of a noisy
    1 s level: the two differ by the noise. A difference smaller than any step that can be
    seen is that noise, so the end takes back the whole offset. Left standing, it was taken
    out later in pieces whenever the noise made the level jump, in the middle of some
    pulse's decay: the line seemed to rise (issue 15: a false occlusion, day seed 823149702,
    439 Pa left of a 4.5 kPa step on a 300 Pa sensor)."""
    left = _step_offsets(300, 3)
    assert len(left) >= 15 and left == [0] * len(left)


def test_one_pulse_alone_cannot_raise_the_leak_alarm():
    """However fast one judged pulse's decay reads, it counts for no more than a half-flow
    leak makes or LEAK_CLIP of its standard deviations; a decay twice the site's, pulse after
    pulse, still raises it."""
    from pump.disconnect import LEAK_CLIP, DisconnectDetector

    dis = DisconnectDetector(1667)
    dis.lref16 = 120 << 4
    dis.ldev16 = 8 << 4
    dis.learned = 20
    for l_q8 in (125, 116, 900, 118, 121, 119, 122, 117):
        dis._judge(l_q8, 20)
        assert not dis.leaking
    assert max(LEAK_CLIP * 20, 120 // 2) < 900 - 180
    judged = 0
    for l_q8 in (240, 236, 245, 241):
        if not dis.leaking:
            dis._judge(l_q8, 20)
            judged += 1
    assert dis.leaking and judged <= 3


class _Decays:
    """The figures DisconnectDetector.on_l reads of a settled pulse's decay (a stand-in for
    pump.linefeat.LineFeatures): its leak_l and standard deviation, a line at rest before it."""

    def __init__(self, sd):
        self.leak_l = 0
        self.leak_sd = sd
        self.l_exact = True
        self.interval = 600000  # basal pulses 10 min apart: settled
        self.pre_drop10 = 0
        self.e1 = 1500

    def noise_pa(self):
        return 300


def test_the_decay_is_learned_without_bias_where_it_scatters_as_much_as_its_mean():
    """A noisy site (issue 15, drawn-speed day 1641550436: decays of mean 67, SD 28 in Q8):
    learned only from the pulses under the leak threshold (1.5 x the learned mean), the mean
    was censored down to half the site's (31), most pulses stood above the threshold, and a
    leak was raised 18 h in. Pulses above it are learned from as if at 1.25 x (winsorized):
    the mean learned stays within 15 % of the site's, nothing is raised, and a half-flow leak
    (decays twice as fast) is still found within 10 pulses."""
    from pump.disconnect import DisconnectDetector

    rnd = random.Random(5)
    dis = DisconnectDetector(1351)
    feat = _Decays(28)
    for _ in range(400):
        feat.leak_l = max(0, round(rnd.gauss(67, 28)))
        dis.on_l(feat)
    assert not dis.leaking
    assert 0.85 * 67 <= dis.lref16 / 16 <= 1.15 * 67
    for _ in range(10):
        feat.leak_l = max(0, round(rnd.gauss(134, 28)))
        dis.on_l(feat)
        if dis.leaking:
            break
    assert dis.leaking, "a half-flow leak not found in 10 pulses"


def test_the_noisy_site_that_raised_a_false_leak_raises_nothing():
    """Drawn-speed widened nominal day 1641550436 (a 300 Pa sensor on a 1.35 kPa bump, 11
    movement steps): its false leak at 18 h 11 min, from the censored mean above."""
    from pumpctl import detectbench

    assert detectbench.nominal_day(1641550436, widened=True, hours=19, bolus_speed=True) == []


def test_sensor_check_sees_rails_stuck_and_noise():
    check = SensorCheck()
    for _ in range(9):
        assert check.sample(4095, 30, 1600) == OK
    assert check.sample(4095, 30, 1600) == OUT_OF_RANGE
    check = SensorCheck()
    rnd = random.Random(2)
    for _ in range(500):
        assert check.sample(80 + rnd.randint(-1, 1), 30, 1600) == OK
    for _ in range(49):
        check.sample(81, 30, 1600)
    assert check.sample(81, 30, 1600) == STUCK


@pytest.mark.parametrize("bump", [1000, 1600, 3000])
def test_noisy_beyond_use_is_judged_by_signal_to_noise_not_by_a_fixed_noise(bump):
    """SEN-1: the same noise is fine under a big bump and beyond use under a small one; the
    limit is SNR_MIN_Q4 / 16 (docs/detection.md: where the bench shows targets missed)."""
    limit = bump * 16 // SNR_MIN_Q4  # the largest noise sigma still usable
    check = SensorCheck()
    for i in range(2000):
        assert check.sample(100 + i % 2, limit, bump) == OK
    for i in range(NOISY_SAMPLES - 1):
        assert check.sample(100 + i % 2, limit + 2, bump) == OK  # a short burst is no fault
    assert check.sample(100, limit + 2, bump) == NOISY
    for i in range(CLEAR_SAMPLES - 1):
        assert check.sample(100 + i % 2, limit - 2, bump) == NOISY  # held until 30 s clean
    assert check.sample(100, limit - 2, bump) == OK


@given(st.integers(1, 10**6))
def test_log2_q8_is_within_two_steps_of_log2(x):
    assert abs(log2_q8(x) - 256 * math.log2(x)) <= 2


@given(st.integers(0, 400000), st.integers(20000, 90000))
def test_min_fall_is_below_the_true_exponential_fall(dt, tau):
    true = 1 - math.exp(-dt / tau)
    assert min_fall_q12(dt, tau) / 4096 == pytest.approx(true, abs=0.01)


# --- plant runs (the same code the firmware runs, closed loop on CPython) -------------------

rates = st.sampled_from([50, 100, 300, 1000, 2000, 5000])
# the widened plant ranges (issue 15: movement, slow motor pulses, depot, stiffening, noise to
# 500 Pa) or the first wave's
widened = st.booleans()


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), rates, widened)
def test_property_no_alarm_on_nominal_plant_runs(seed, rate, wide):
    params = plantparams.sample(seed, first_wave=not wide)
    # three boluses: the first teaches the bolus detector this site's open line
    # (pump/bolusline.py), the others are judged by it
    boluses = [(3 * 3600000, 40), (5 * 3600000, 60), (8 * 3600000, 100)]
    out = simulate(params, seed, 12 * 3600000, rate, boluses=boluses)
    assert out.alarms == []


def _onset_run(seed, rate, kind, kw, alarm, pulses_target, wide=False):
    params = plantparams.sample(seed, first_wave=not wide)
    interval = 50 * 3600000 // rate
    onset = max(3600000, 8 * interval) + seed % interval
    onset -= onset % 100
    out = simulate(
        params,
        seed,
        onset + interval * (pulses_target + 2) + 120000,
        rate,
        [(onset, kind, kw)],
        stop_on=alarm,
        after_ms=onset,
    )
    hits = [t for k, t in out.alarms if k == alarm]
    assert hits, f"no {alarm} alarm: {out.alarms}"
    n = pulses_between(out.pulses_ms, onset, hits[0])
    assert n <= pulses_target, f"{n} pulses from onset to {alarm} alarm"


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), rates, widened)
def test_property_occlusion_alarm_within_3_pulses(seed, rate, wide):
    _onset_run(seed, rate, "occlusion", {}, "occlusion", 3, wide)


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), rates, widened)
def test_property_disconnect_alarm_within_5_pulses(seed, rate, wide):
    _onset_run(seed, rate, "disconnect", {}, "disconnect", 5, wide)


@settings(max_examples=6)
@given(st.integers(0, 2**32 - 1), st.sampled_from([100, 300, 1000, 2000]))
def test_property_leak_alarm_within_10_pulses(seed, rate):
    # first wave's ranges: on the widened ones a leak at 2 U/h is not judged on the slowest
    # sites (the line does not settle between pulses), a gap docs/detection.md states
    _onset_run(seed, rate, "leak", {"pct": 50}, "leak", 10)


def test_the_rail_constants_are_half_the_sensor_range():
    from pump import linewatch, pressure

    assert linewatch.RAIL_MID * 2 in (pressure.COUNTS_MAX, pressure.COUNTS_MAX + 1)
    assert linewatch.HALF_SCALE_PA * 2 == pressure.FULL_SCALE_PA


def test_a_line_climbing_past_the_sensor_range_is_an_occlusion_not_a_sensor_fault():
    """A bolus into a blocked line on a stiff, slow-pushing pump drives the pressure to the
    ADC rail: the climb (half the range 10 s before) makes it an occlusion; a sensor that
    jumps to its rail from a normal reading stays a sensor fault."""
    watch = LineWatch(500)
    pa = 5000
    for i in range(2600):  # 30 s at rest, then a pulse every 2 s that adds 2 kPa and stays
        if i >= 300 and i % 20 == 0:
            watch.pulse(i * 100)
            pa = min(pa + 2000, 210000)
        watch.sample(i * 100, counts(pa))
    assert watch.occluded() and watch.sensor_fault() == OK
    jump = LineWatch(500)
    for i in range(600):
        jump.sample(i * 100, counts(5000 if i < 300 else 200000))
    assert not jump.occluded() and jump.sensor_fault() == OUT_OF_RANGE


def test_the_viper_functions_consts_are_their_modules():
    """The viper ``sample`` functions take other modules' ints as consts of their own (a
    viper function computes only with consts and locals): they must be the same values."""
    from pump import app, button, linefeat, linetask, linewatch, occlusion, pressure, sensorcheck

    assert linewatch._FULL_SCALE_PA == pressure.FULL_SCALE_PA
    assert linewatch._NOISE_DIV == occlusion._NOISE_DIV == linefeat.NOISE_DIV
    assert linetask._OK == sensorcheck.OK
    assert app._IDLE == button.IDLE
    assert linewatch._COUNTS_MAX == pressure.COUNTS_MAX
    assert linewatch._NOISE_DIV == linefeat.NOISE_DIV
    assert (linewatch._EV_R, linewatch._EV_L, linewatch._EV_C, linewatch._EV_T) == (
        linefeat.EV_R,
        linefeat.EV_L,
        linefeat.EV_C,
        linefeat.EV_T,
    )
    assert (linewatch._OK, linewatch._OUT_OF_RANGE) == (sensorcheck.OK, sensorcheck.OUT_OF_RANGE)
    assert sensorcheck.HIGH_RAIL == pressure.COUNTS_MAX - sensorcheck.RANGE_MARGIN
    # the inlined counts_to_pa
    for counts in range(pressure.COUNTS_MAX + 1):
        pa = (
            counts * linewatch._FULL_SCALE_PA + linewatch._COUNTS_MAX // 2
        ) // linewatch._COUNTS_MAX
        assert pa == pressure.counts_to_pa(counts)
