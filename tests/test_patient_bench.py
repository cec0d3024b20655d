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
