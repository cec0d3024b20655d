"""The patient bench's report: aggregation and the validation lines (the runs themselves are
exercised by tests/test_sim.py; the full cohort only runs in make patient-bench)."""

from pumpctl.patient import bench


def fault_result(kind, hours, peaks, fixed):
    arms = {arm: {"hours_above_250": h, "peak": p, "alarm_min": f, "fixed_min": f}
            for arm, h, p, f in zip(("firmware", "commercial", "none"), hours, peaks, fixed,
                                    strict=True)}
    return {"task": "fault", "fault": kind, "arms": arms}


def test_three_way_rows_median_worst_and_ratio():
    results = []
    for kind in bench.FAULTS:
        results.append(fault_result(kind, (0.0, 2.0, 5.0), (180, 260, 320), (3, 190, None)))
        results.append(fault_result(kind, (1.0, 4.0, 6.0), (200, 300, 350), (5, 200, None)))
    rows = bench.fault_rows(results)
    assert len(rows) == 9
    fw = rows[0]
    assert (fw.fault, fw.arm, fw.hours, fw.alarms) == ("occlusion", "firmware", [0.0, 1.0], [3, 5])
    table = bench.render_faults(rows)
    assert "0.5 / 1.0" in table and "190 / 200" in table  # firmware: median / worst
    assert "2/2, median 195" in table and "0/2" in table
    ratio = bench.render_ratio(rows)
    assert "median 17 %, worst 25 %, cohort total 17 %" in ratio  # 0.5 of 3 h; 1 of 4; 1 of 6


def test_validation_lines():
    fasting = [{"task": "fasting", "patient": f"adult#00{i}", "g0": 120, "g60": 130,
                "g240": 130 + 3 * rise, "h300": h, "h400": None}
               for i, (rise, h) in enumerate(((20, 8.0), (30, None)), start=1)]
    night = [{"task": "overnight", "patient": "adult#001", "suspend_min": 200,
              "suspend": 180.0, "control": 140.0}]
    text = bench.render_validation(fasting + night)
    assert text.startswith("suspension rise: 25 mg/dL/h")
    assert "8.0 h, over the 1/2" in text and "400 mg/dL: not reached" in text
    assert "180 vs 140 mg/dL (+40)" in text



def test_partial_report_of_a_run_cut_short(tmp_path):
    """--tabulate --partial reports what has finished (here a results file holding one
    baseline day) and says how much that is; --partial alone is refused, naming the flag."""
    import csv
    import json
    import subprocess
    import sys
    from pathlib import Path

    from pumpctl import campaign

    tool = Path(__file__).resolve().parents[1] / "tools" / "patient_bench.py"
    results = tmp_path / "bench.csv"
    (task,) = [t for t in bench.tasks(1, ["adult#001"]) if t["task"] == "baseline"]
    outcome = {"task": "baseline", "patient": "adult#001", "seed": 1,
               "metrics": {"tir": 88.0, "below_70": 5.0, "below_54": 0.0, "mean": 150.0}}
    with results.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(campaign.COLUMNS)
        w.writerow([campaign.task_key(bench.run_task, task), "pumpctl.patient.bench.run_task",
                    json.dumps(task), "ok", json.dumps(outcome), "20.0", "9.5", "w", "code", ""])
    argv = [sys.executable, str(tool), "--patients", "adult#001", "--results", str(results),
            "--plot", str(tmp_path / "p.png"), "--no-progress"]
    out = subprocess.run([*argv, "--tabulate", "--partial"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert "PARTIAL: 1 of 6 tasks" in out.stdout and "10 CPU s" in out.stdout
    assert "(1 patient-days)" in out.stdout and "88.0 / 88.0" in out.stdout
    assert "1/1" in out.stdout  # the day's 5 % below 70 is over the 4 % target
    bad = subprocess.run([*argv, "--partial"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--partial" in bad.stderr
