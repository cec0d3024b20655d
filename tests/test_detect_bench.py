"""`make detect-bench` (tools/detect_bench.py): the smallest profile runs and prints its table."""

import re
import subprocess
import sys
from pathlib import Path

from pumpctl import detectbench

REPO = Path(__file__).resolve().parents[1]


def test_bench_prints_the_table_the_false_alarm_count_and_the_anchors(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "detect_bench.py"),
            "--first-wave",
            "--runs",
            "1",
            "--days",
            "1",
            "--fw-runs",
            "0",
            "--snr-runs",
            "0",
            "--workers",
            "1",
            "--results",
            str(tmp_path / "results.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    out = proc.stdout
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    assert ["occlusion", "1 U/h", "1/1"] in [r[:3] for r in rows]
    assert ["occlusion", "bolus 5 U, 2nd on the site"] in [r[:2] for r in rows]
    assert "False alarms: 0 in 1 simulated nominal days" in out
    assert "Omnipod 5" in out and "Paradigm Veo" in out


def test_whole_firmware_run_detects_an_occlusion_within_three_pulses():
    got = detectbench.firmware_run("occlusion", {}, "occlusion", 1000, 0, 12345)
    assert got is not None and 1 <= got[0] <= 3


def bench(*args: str) -> str:
    """The bench's report without its last line (the wall time)."""
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "detect_bench.py"), *args],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.rsplit("\nbench wall time", 1)[0]


def test_one_and_two_workers_and_a_retabulation_print_the_same_report(tmp_path):
    small = ["--runs", "0", "--fw-runs", "0", "--days", "2", "--occ2-runs", "2",
             "--snr-runs", "0"]  # 4 tasks
    one = bench(*small, "--workers", "1", "--results", str(tmp_path / "one.csv"))
    two = bench(*small, "--workers", "2", "--results", str(tmp_path / "two.csv"))
    again = bench(*small, "--tabulate", "--results", str(tmp_path / "two.csv"))
    assert "False alarms: " in one and "OCC-2: insulin released" in one
    assert one == two == again


def test_days_from_takes_the_days_after_the_first_n_of_the_seed_sequence():
    """--days-from: days a change was not developed on, the same seeds as a longer run's."""
    plan = detectbench.Plan(0, 0, 1, 3, True, 0, days_from=1000)
    assert plan.day_list() == detectbench.day_seeds(1003)[1000:]
    days = [t["seed"] for t in plan.tasks() if t["part"] == "day"]
    assert days == plan.day_list() and not set(days) & set(detectbench.day_seeds(1000))


def test_days_prime_primes_every_nominal_day_and_says_so(tmp_path):
    """--days-prime: each day's task carries the prime, and the report names it."""
    plan = detectbench.Plan(0, 0, 1, 2, True, 0, days_prime=20)
    assert [t.get("prime") for t in plan.tasks() if t["part"] == "day"] == [20, 20]
    unprimed = detectbench.Plan(0, 0, 1, 2, True, 0)
    assert all("prime" not in t for t in unprimed.tasks())  # old results files stay valid
    out = bench("--runs", "0", "--fw-runs", "0", "--days", "1", "--occ2-runs", "1",
                "--snr-runs", "0", "--days-prime", "20", "--workers", "1",
                "--results", str(tmp_path / "r.csv"))
    assert "each primed with 20 pulses a minute after boot" in out


def test_days_prime_out_of_range_is_refused_by_name():
    tool = REPO / "tools" / "detect_bench.py"
    proc = subprocess.run([sys.executable, str(tool), "--days-prime", "-1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--days-prime" in proc.stderr


def test_the_simulated_bolus_runs_at_the_period_of_the_bolus_speed():
    """linesim: a bolus's pulses come every ``bolus_ms`` on the 100 ms tick (a period that is
    no whole number of ticks alternates two lengths, as the firmware's train), the default
    every 2000 ms."""
    from pumpctl.linesim import BOLUS_PULSE_MS, Schedule

    def gaps(**kw):
        sched = Schedule(0, 50, [(10500, 8)], **kw)
        ts = [t for t in range(100, 40000, 100) if sched.due(t)]
        return ts[0], [b - a for a, b in zip(ts, ts[1:], strict=False)]

    assert BOLUS_PULSE_MS == 2000
    assert gaps() == (11000, [2000] * 7)
    assert gaps(bolus_ms=600) == (11000, [600] * 7)
    first, got = gaps(bolus_ms=2142)  # 1.4 U/min
    assert first == 11000 and sorted(set(got)) == [2100, 2200] and sum(got) == 7 * 2142 + 6


def test_one_run_and_the_nominal_day_take_the_bolus_period():
    """The bench's runs pass the period on to the simulation (a day's speed drawn from the
    setting's range, 0.5 to 5 U/min)."""
    from unittest import mock

    from pumpctl import linesim

    seen = []
    real = linesim.simulate

    def spy(*a, **kw):
        seen.append(kw.get("bolus_ms"))
        return real(*a, **kw)

    task = next(t for t in detectbench.cell_tasks(1, 1, True) if t["bolus_pulses"])
    with mock.patch.object(detectbench, "simulate", spy):
        detectbench.one_run(**task, bolus_ms=600)
        detectbench.nominal_day(detectbench.day_seeds(1)[0], True, hours=1, bolus_speed=True)
    drawn = [detectbench.day_bolus_ms(s) for s in detectbench.day_seeds(200)]
    assert seen == [600, drawn[0]]
    assert 600 <= min(drawn) < 700 and 5000 < max(drawn) <= 6000 and len(set(drawn)) > 50


def test_speed_tasks_are_the_bolus_cells_at_each_period_and_old_results_stay_valid():
    """--speed-runs: the table's bolus cells (occlusion, leak) at each period, the period left
    out at the default (the tasks are keyed by their parameters: the default profile's keys,
    and so old results files, are unchanged)."""
    base = [t for t in detectbench.cell_tasks(2, 1, True) if t["bolus_pulses"]
            and t["kind"] in ("occlusion", "leak")]
    got = detectbench.speed_tasks(2, (600, 2000), 1, True)
    assert got == [dict(t, bolus_ms=600) for t in base] + base
    plan = detectbench.Plan(1, 1, 1, 2, True, 1, speed_runs=2, speed_periods=(600, 2000),
                            days_bolus_speed=True)
    speed = [t for t in plan.tasks() if t["part"] == "speed"]
    assert [dict(t, part=None) for t in speed] == [dict(t, part=None) for t in got]
    assert all(t["bolus_speed"] for t in plan.tasks() if t["part"] == "day")
    default = detectbench.Plan(1, 1, 1, 2, True, 1).tasks()
    assert not [t for t in default if "bolus_ms" in t or "bolus_speed" in t or
                t["part"] == "speed"]


def test_speed_runs_print_the_bolus_cells_per_period_and_drawn_speed_days_say_so(tmp_path):
    out = bench("--runs", "0", "--fw-runs", "0", "--days", "1", "--occ2-runs", "1",
                "--snr-runs", "0", "--speed-runs", "1", "--bolus-periods", "600,6000",
                "--days-bolus-speed", "--workers", "1", "--results", str(tmp_path / "r.csv"))
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    conds = [r[1] for r in rows if r[0] in ("occlusion", "leak 50%")]
    assert conds == [f"bolus 5 U, {c}, {ms} ms a pulse ({u} U/min)" for ms, u in
                     (("600", "5"), ("6000", "0.5")) for _ in range(2)
                     for c in ("1st on the site, primed 1 U", "2nd on the site")]
    assert "boluses at a drawn speed (0.5 to 5 U/min)" in out


def test_bolus_periods_out_of_range_are_refused_by_name():
    tool = REPO / "tools" / "detect_bench.py"
    proc = subprocess.run([sys.executable, str(tool), "--bolus-periods", "600,x"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--bolus-periods: expected ms from 300 to 12000" in proc.stderr
