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
from pump.sensorcheck import NOISY, OK, OUT_OF_RANGE, STUCK, SensorCheck
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
):
    """Pulses every ``period_ms``; each bump decays with tau_before (ms) before the onset and
    tau_after after it (0 = never, None = no bump at all). Returns (alarm kinds with time,
    pulse times)."""
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


def test_sensor_check_sees_rails_stuck_and_noise():
    check = SensorCheck()
    for _ in range(9):
        assert check.sample(4095, 30) == OK
    assert check.sample(4095, 30) == OUT_OF_RANGE
    check = SensorCheck()
    rnd = random.Random(2)
    for _ in range(500):
        assert check.sample(80 + rnd.randint(-1, 1), 30) == OK
    for _ in range(49):
        check.sample(81, 30)
    assert check.sample(81, 30) == STUCK
    check = SensorCheck()
    assert check.sample(100, 401) == NOISY
    for i in range(299):
        assert check.sample(100 + i % 2, 30) == NOISY  # held until 30 s clean
    assert check.sample(100, 30) == OK


@given(st.integers(1, 10**6))
def test_log2_q8_is_within_two_steps_of_log2(x):
    assert abs(log2_q8(x) - 256 * math.log2(x)) <= 2


@given(st.integers(0, 400000), st.integers(20000, 90000))
def test_min_fall_is_below_the_true_exponential_fall(dt, tau):
    true = 1 - math.exp(-dt / tau)
    assert min_fall_q12(dt, tau) / 4096 == pytest.approx(true, abs=0.01)


# --- plant runs (the same code the firmware runs, closed loop on CPython) -------------------

rates = st.sampled_from([50, 100, 300, 1000, 2000, 5000])


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), rates)
def test_property_no_alarm_on_nominal_plant_runs(seed, rate):
    out = simulate(plantparams.sample(seed), seed, 12 * 3600000, rate, boluses=[(5 * 3600000, 60)])
    assert out.alarms == []


def _onset_run(seed, rate, kind, kw, alarm, pulses_target):
    params = plantparams.sample(seed)
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
@given(st.integers(0, 2**32 - 1), rates)
def test_property_occlusion_alarm_within_3_pulses(seed, rate):
    _onset_run(seed, rate, "occlusion", {}, "occlusion", 3)


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), rates)
def test_property_disconnect_alarm_within_5_pulses(seed, rate):
    _onset_run(seed, rate, "disconnect", {}, "disconnect", 5)


@settings(max_examples=6)
@given(st.integers(0, 2**32 - 1), st.sampled_from([100, 300, 1000, 2000]))
def test_property_leak_alarm_within_10_pulses(seed, rate):
    _onset_run(seed, rate, "leak", {"pct": 50}, "leak", 10)
