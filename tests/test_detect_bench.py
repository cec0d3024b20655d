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
