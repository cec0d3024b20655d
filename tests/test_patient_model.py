"""The virtual patient against simglucose's own published trajectory (tests/data, MIT).

simglucose 0.2.11's regression test runs adolescent#001 for 2 days with its basal-bolus
controller, random meals (seed 1) and a Dexcom CGM (seed 1), and keeps every 3-minute
step in sim_results.csv: time, BG, CGM, CHO and insulin. Here the recorded inputs (the
insulin rate of each step and each meal) drive our own model and CGM, and the glucose and
CGM readings they give must match the file's. simglucose records each meal as a 3-minute
average; the minute in that window the meal began comes from its RandomScenario(seed=1)
and is listed below (time since the start, in minutes).
"""

import csv
from pathlib import Path

import pytest
from pumpctl.patient.cgm import CGM, not_a_knot_spline
from pumpctl.patient.model import PatientModel
from pumpctl.patient.params import patient, patients, sensors

RESULTS = Path(__file__).parent / "data" / "simglucose_sim_results.csv"
MEAL_START_MIN = (517, 644, 873, 1109, 1915, 2007, 2129, 2353, 2484)
TOLERANCE_MG_DL = 1e-3  # measured: 2.8e-5 for both BG and CGM


def replay(meal_start_min=MEAL_START_MIN):
    """Worst |BG| and |CGM| difference (mg/dL) against the published trajectory."""
    rows = list(csv.DictReader(RESULTS.open()))
    model = PatientModel(patient("adolescent#001"))
    cgm = CGM(sensors()["Dexcom"], seed=1)
    cgm.measure(0, model.glucose)  # simglucose reads the sensor twice at t=0 (build, reset)
    cgm.measure(0, model.glucose)
    starts = set(meal_start_min)
    worst_bg = worst_cgm = 0.0
    for i in range(len(rows) - 1):
        insulin = float(rows[i]["insulin"])  # U/min over the 3-minute step
        carbs = float(rows[i]["CHO"]) * 3  # g, announced in one minute of the step
        bg = reading = 0.0
        for _ in range(3):
            t = model.t_min
            model.step(carbs if t in starts else 0.0, insulin)
            bg += model.glucose / 3
            reading += cgm.measure(model.t_min, model.glucose) / 3
        worst_bg = max(worst_bg, abs(bg - float(rows[i + 1]["BG"])))
        worst_cgm = max(worst_cgm, abs(reading - float(rows[i + 1]["CGM"])))
    return worst_bg, worst_cgm


def test_matches_simglucose_published_trajectory():
    rows = list(csv.DictReader(RESULTS.open()))
    assert len(rows) == 961  # 2 days of 3-minute steps, as published
    meals = [i * 3 for i, r in enumerate(rows) if float(r["CHO"] or 0) > 0]
    assert [t // 3 * 3 for t in MEAL_START_MIN] == meals  # each listed start is in its step
    worst_bg, worst_cgm = replay()
    assert worst_bg < TOLERANCE_MG_DL
    assert worst_cgm < TOLERANCE_MG_DL


def test_the_comparison_can_fail():
    """Meals a minute late already move glucose well past the tolerance."""
    late = [t + 1 if t % 3 < 2 else t - 2 for t in MEAL_START_MIN]
    assert replay(late)[0] > 100 * TOLERANCE_MG_DL


def test_thirty_patients_with_their_therapy():
    table = patients()
    assert len(table) == 30
    groups = sorted({p.group for p in table.values()})
    assert groups == ["adolescent", "adult", "child"]
    for p in table.values():
        assert p.carb_ratio > 0 and p.correction > 0 and 0 < p.basal_u_per_h < 3


def test_fasting_steady_state_holds_on_its_basal():
    p = patient("adult#001")
    model = PatientModel(p)
    start = model.glucose
    for _ in range(600):
        model.step(0.0, p.basal_u_per_h / 60)
    assert abs(model.glucose - start) < 0.5


@pytest.mark.parametrize("cubic", [(1.0, -2.0, 0.5, 3.0), (0.0, 0.0, 0.0, 7.0)])
def test_not_a_knot_spline_reproduces_a_cubic(cubic):
    a, b, c, d = cubic
    xs = [float(x * 15) for x in range(11)]
    ys = [a * x**3 + b * x**2 + c * x + d for x in xs]
    at = [float(x) for x in range(0, 151, 5)]
    got = not_a_knot_spline(xs, ys, at)
    want = [a * x**3 + b * x**2 + c * x + d for x in at]
    assert max(abs(g - w) for g, w in zip(got, want, strict=True)) < 1e-6 * max(map(abs, want))
