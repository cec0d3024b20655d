"""`make detect-bench` (tools/detect_bench.py): the smallest profile runs and prints its table."""

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
            "--runs",
            "1",
            "--days",
            "1",
            "--fw-runs",
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
    assert "occlusion                    1 U/h      1/1" in out
    assert "False alarms: 0 in 1 simulated nominal days" in out
    assert "Omnipod 5" in out and "Paradigm Veo" in out


def test_whole_firmware_run_detects_an_occlusion_within_three_pulses():
    got = detectbench.firmware_run("occlusion", {}, "occlusion", 1000, 0, 12345)
    assert got is not None and 1 <= got[0] <= 3
