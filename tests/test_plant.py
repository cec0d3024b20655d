"""The plant model (boards/emu/plant.py): physics, faults, accounting, determinism."""

import math
import subprocess

import pytest
from boards.emu import plantparams
from boards.emu.intmath import Q30, XorShift32, exp_neg_q30, triangle
from boards.emu.plant import FAULTS, Plant
from hypothesis import given
from hypothesis import strategies as st
from pump.pressure import pa_to_counts
from pumpctl.firmware import FIRMWARE, micropython_binary


def quiet(**overrides):
    """Nominal parameters with the sensor's random parts and drifts turned off."""
    p = plantparams.nominal()
    p.update(
        noise_pa=25,
        spikes_per_day=0,
        drift_pa=0,
        site_wander_pct=0,
        tissue_wander_pa=0,
        friction_pa=0,
    )
    p.update(overrides)
    return p


def excess_after(plant, ms):
    for _ in range(ms // 100):
        plant.step(100)
    return plant.excess_mpa // 1000


@given(st.integers(0, 60 * Q30))
def test_exp_neg_matches_libm(x):
    assert abs(exp_neg_q30(x) / Q30 - math.exp(-x / Q30)) < 1e-7


def test_triangle_stays_within_amplitude_and_period():
    values = [triangle(t, 100, 40) for t in range(300)]
    assert min(values) == -40 and max(values) == 40
    assert values[:100] == values[100:200]


def test_xorshift_is_seeded_and_gauss_has_the_asked_sigma():
    a, b = XorShift32(5), XorShift32(5)
    assert [a.next() for _ in range(5)] == [b.next() for _ in range(5)]
    rng = XorShift32(9)
    xs = [rng.gauss(100) for _ in range(20000)]
    sd = math.sqrt(sum(x * x for x in xs) / len(xs))
    assert 95 < sd < 105


def test_a_pulse_into_a_blocked_line_adds_volume_over_compliance_and_stays():
    plant = Plant(quiet(compliance_nl_per_kpa=250), 1)
    plant.set_fault("occlusion")
    for n in range(1, 4):
        plant.pulse()
        held = excess_after(plant, 60000)
        assert held == n * 500 * 1000 // 250  # 2 kPa per 0.5 uL pulse, no decay


@pytest.mark.parametrize(
    "fault, kw, tau_ms",
    [
        (None, {}, 30000),
        ("leak", {"pct": 50}, 15000),
        ("kink", {"factor": 4}, 120000),
        ("disconnect", {}, 300),
    ],
)
def test_a_bump_decays_with_the_time_constant_of_the_line_state(fault, kw, tau_ms):
    plant = Plant(quiet(site_tau_ms=30000, tubing_tau_ms=300), 1)
    if fault:
        plant.set_fault(fault, **kw)
    plant.pulse()
    start = plant.excess_mpa
    plant.step(tau_ms)
    assert plant.excess_mpa == pytest.approx(start * math.exp(-1), rel=0.01)


def test_volume_is_conserved_pushed_equals_delivered_spilled_and_stored():
    plant = Plant(plantparams.sample(3), 3)
    plant.schedule(3600000, "leak", pct=40)
    plant.schedule(7200000, "disconnect")
    for t in range(0, 3 * 3600000, 100):
        if t % 60000 == 0:
            plant.pulse()
        plant.step(100)
    total = plant.delivered_nl() + plant.spilled_nl() + plant.stored_nl()
    assert abs(plant.pushed_nl - total) <= 3  # integer rounding of three sums
    assert plant.spilled_nl() > 0 and plant.delivered_nl() > 0


def test_clearing_an_occlusion_releases_the_held_volume_and_retract_takes_it_back():
    plant = Plant(quiet(), 1)
    plant.set_fault("occlusion")
    for _ in range(3):
        plant.pulse()
    plant.set_fault("clear")
    assert plant.release_nl == pytest.approx(1500, abs=2)
    plant = Plant(quiet(), 1)
    plant.set_fault("occlusion")
    for _ in range(3):
        plant.pulse()
    plant.retract(30)  # 3 pulses' worth of steps
    plant.set_fault("clear")
    assert plant.release_nl == 0


def test_sensor_faults():
    plant = Plant(quiet(), 1)
    plant.step(100)
    before = plant.read_counts()
    plant.set_fault("stuck")
    plant.pulse()
    plant.step(1000)
    assert plant.read_counts() == before
    plant.set_fault("out_of_range", level="low")
    assert plant.read_counts() == 0
    plant.set_fault("out_of_range")
    assert plant.read_counts() == 4095
    plant.set_fault("sensor_ok")
    assert 0 < plant.read_counts() < 4095


def test_disconnect_at_the_connector_opens_the_switch():
    plant = Plant(quiet(), 1)
    plant.set_fault("disconnect")
    assert plant.connector_closed()
    plant.set_fault("disconnect", where="connector")
    assert not plant.connector_closed()
    plant.set_fault("reconnect")
    assert plant.connector_closed()


def test_labels_record_fault_onsets_at_plant_time():
    plant = Plant(quiet(), 1)
    plant.schedule(1000, "occlusion")
    plant.schedule(5000, "clear")
    for _ in range(100):
        plant.step(100)
    assert plant.take_labels() == [(1000, "occlusion"), (5000, "clear")]
    assert plant.take_labels() == []


def test_unknown_fault_is_refused_with_the_known_list():
    with pytest.raises(ValueError, match="unknown plant fault 'flood'.*occlusion"):
        Plant(quiet(), 1).set_fault("flood")
    assert "leak" in FAULTS and "stuck" in FAULTS


def test_sampler_stays_in_ranges_and_check_names_the_parameter():
    for seed in range(200):
        plantparams.check(plantparams.sample(seed))
    bad = plantparams.nominal()
    bad["noise_pa"] = 5
    with pytest.raises(ValueError, match="noise_pa=5 is outside 25..500"):
        plantparams.check(bad)
    with pytest.raises(ValueError, match="plant.wobble: unknown plant parameter"):
        plantparams.from_spec({"wobble": 1})
    assert plantparams.from_spec({"sample": 4, "noise_pa": 30})["noise_pa"] == 30


def test_adc_conversion_clamps_and_rounds():
    assert pa_to_counts(-5) == 0
    assert pa_to_counts(10**6) == 4095
    assert pa_to_counts(200000) == 4095
    assert pa_to_counts(24) == 0 and pa_to_counts(25) == 1


PLANT_RUN = """
import sys
sys.path.insert(0, ".")
from boards.emu import plantparams
from boards.emu.plant import Plant
p = Plant(plantparams.sample(11, first_wave=False), 11)  # widened: every new term is on
p.schedule(600000, "occlusion")
p.schedule(900000, "clear")
p.schedule(1200000, "leak", pct=60)
p.schedule(1500000, "noisy")
out = []
for t in range(0, 1800000, 100):
    if t % 30000 == 0:
        p.pulse()
    if t == 1000000:
        p.retract(7)
    p.step(100)
    out.append(p.read_counts())
print(sum(out), out[-5:], p.delivered_nl(), p.spilled_nl(), p.release_nl)
"""


def test_plant_gives_identical_readings_on_cpython_and_the_unix_port():
    runs = []
    for exe in ("python3", micropython_binary()):
        proc = subprocess.run(
            [exe, "-c", PLANT_RUN],
            cwd=FIRMWARE,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        runs.append(proc.stdout)
    assert runs[0] == runs[1]
    assert runs[0].strip()


@pytest.mark.parametrize(
    "action, message",
    [
        ({"fault": "leak", "pct": "half"}, r"actions\[0\]\.pct: expected an integer in 1..99"),
        ({"fault": "kink", "factor": 1}, r"actions\[0\]\.factor: expected an integer in 2..1000"),
        ({"fault": "disconnect", "where": "hose"}, r"actions\[0\]\.where: expected one of site"),
        ({"fault": "occlusion", "pct": 5}, r"actions\[0\]\.pct: unknown argument for a occlusion"),
    ],
)
def test_scenario_fault_arguments_are_checked_with_the_field_named(action, message):
    from boards.emu.scenario import Scenario
    from pump.units import InputError

    action = dict(action, at="0:10")
    raw = {"format": "pumpscenario/1", "duration": "1:00", "actions": [action]}
    with pytest.raises(InputError, match=message):
        Scenario(raw, FAULTS)


def test_sampled_plants_rest_at_least_1_kpa_off_the_rail():
    for seed in range(2000):
        p = plantparams.sample(seed, first_wave=False)
        assert plantparams.resting_low_pa(p) >= plantparams.MIN_RESTING_PA
        p = plantparams.sample(seed, first_wave=True)
        assert p["offset_pa"] - p["drift_pa"] >= plantparams.MIN_RESTING_PA


def test_the_first_wave_ranges_are_inside_the_widened_ones_and_sample_as_before():
    for name, lo, hi, nom, first_lo, first_hi in plantparams.RANGES:
        assert lo <= first_lo <= first_hi <= hi, name
        assert lo <= nom <= hi, name
    p = plantparams.sample(11, first_wave=True)
    # the parameters the first wave did not have sit at their neutral value
    assert p["gain_permille"] == p["walk_pa"] == p["steps_per_day"] == 0
    assert p["pulse_ms"] == p["stiffen_pct"] == p["depot_pct"] == 0
    assert 25 <= p["noise_pa"] <= 80 and p["offset_pa"] >= 1500
    wide = [plantparams.sample(seed, first_wave=False) for seed in range(400)]
    assert max(w["noise_pa"] for w in wide) > 400
    assert min(w["gain_permille"] for w in wide) < -60 < 60 < max(w["gain_permille"] for w in wide)


def test_a_slow_motor_pulse_spreads_its_volume_over_pulse_ms():
    plant = Plant(quiet(pulse_ms=1000), 1)
    plant.set_fault("occlusion")
    plant.pulse()
    held = []
    for _ in range(12):
        plant.step(100)
        held.append(plant.excess_mpa // 1000)
    assert held[4] == pytest.approx(held[-1] / 2, rel=0.05)  # half pushed after 0.5 s
    assert held[9] == held[-1] == 500 * 1000 // 300


def test_the_line_stiffens_as_the_pressure_rises():
    soft = Plant(quiet(), 1)
    stiff = Plant(quiet(stiffen_pct=40), 1)
    bumps = []
    for plant in (soft, stiff):
        plant.set_fault("occlusion")
        before = 0
        steps = []
        for _ in range(12):
            plant.pulse()
            plant.step(100)
            steps.append(plant.excess_mpa - before)
            before = plant.excess_mpa
        bumps.append(steps)
    assert bumps[0][0] == bumps[0][-1]  # linear line: every pulse the same bump
    assert bumps[1][-1] > bumps[1][0] * 13 // 10  # 20 kPa in: compliance down by ~45 %
    assert stiff.stored_nl() == soft.stored_nl() == 6000


def test_the_depot_leaves_a_slow_second_component_under_the_bump():
    fast = {}
    for pct in (0, 15):
        plant = Plant(quiet(site_tau_ms=10000, depot_pct=pct, depot_tau_s=300, tissue_pa=0), 1)
        plant.pulse()
        for _ in range(600):  # 60 s: six time constants of the line
            plant.step(100)
        fast[pct] = plant.line_pa() - plant.p["offset_pa"]
    assert fast[0] <= 10  # first order: the bump is gone
    bump = 500 * 1000 // 300
    assert bump * 8 // 100 < fast[15] < bump * 15 // 100  # the depot still holds ~13 %


def test_gain_error_scales_the_whole_reading():
    a = Plant(quiet(), 1)
    b = Plant(quiet(gain_permille=-80), 1)
    for plant in (a, b):
        plant.pulse()
        plant.step(1000)
    assert b.line_pa() == a.line_pa() + a.line_pa() * -80 // 1000


def test_movement_steps_move_the_reading_and_go_away():
    plant = Plant(quiet(steps_per_day=12, step_pa=5000, step_ms=30000), 5)
    steps, longest, run = set(), 0, 0
    for _ in range(2 * 864000):  # two days
        plant.step(100)
        if plant.step_pa:
            steps.add(plant._step_end)
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    assert 8 <= len(steps) <= 48  # 12 a day on average
    assert longest <= 300  # 30 s at most


def test_the_random_walk_stays_within_its_bound():
    plant = Plant(quiet(walk_pa=12), 2)
    seen = []
    for _ in range(3600):
        plant.step(1000)
        seen.append(plant.walk_mpa)
    assert max(abs(w) for w in seen) <= plantparams.WALK_LIMIT_PA * 1000
    assert max(seen) - min(seen) > 200000  # it does wander: hundreds of Pa in an hour


def test_volume_is_conserved_on_widened_plants():
    for seed in (1, 2, 3):
        plant = Plant(plantparams.sample(seed, first_wave=False), seed)
        plant.schedule(3600000, "leak", pct=40)
        plant.schedule(5400000, "occlusion")
        plant.schedule(6000000, "clear")
        plant.schedule(7200000, "disconnect")
        for t in range(0, 3 * 3600000, 100):
            if t % 20000 == 0:
                plant.pulse()
            plant.step(100)
        total = plant.delivered_nl() + plant.spilled_nl() + plant.stored_nl()
        assert abs(plant.pushed_nl - total) <= 3
