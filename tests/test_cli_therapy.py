"""`pumpctl iob` and `pumpctl wizard`: the flags and JSON keys of issue 11, on firmware code."""

import json

import pytest
from pump.actioncurve import ActionCurve
from pumpctl.cli import main
from test_iob import TOLERANCE, closed_form


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_iob_points_follow_the_closed_form(capsys):
    out = run_json(capsys, ["iob", "--dia-min", "360", "--peak-min", "55", "--delay-min", "10",
                            "--dose", "2@0", "--dose", "1.5@45", "--at", "0", "--at", "45",
                            "--at", "100", "--at", "415", "--json"])  # fmt: skip
    assert list(out) == ["points"]
    assert [sorted(p) for p in out["points"]] == [["at_min", "iob_u"]] * 4
    assert [p["at_min"] for p in out["points"]] == [0, 45, 100, 415]
    for p in out["points"]:
        t = p["at_min"]
        want = 2 * closed_form(t, 360, 55, 10) + (1.5 * closed_form(t - 45, 360, 55, 10)
                                                   if t >= 45 else 0)
        assert abs(p["iob_u"] - want) <= 3.5 * TOLERANCE + 0.002
    assert out["points"][0]["iob_u"] == 2.0  # all of it at the dose
    assert out["points"][-1]["iob_u"] == 0.0  # 2 U: the end of action (360 + 10 min) passed


def test_iob_is_the_firmware_curve_to_the_milliunit(capsys):
    out = run_json(capsys, ["iob", "--dia-min", "300", "--peak-min", "75", "--dose", "3@0",
                            "--at", "61.5", "--json"])  # fmt: skip
    assert out["points"][0]["iob_u"] == ActionCurve(300, 75).on_board(3000, 3690) / 1000


def test_wizard_json_has_exactly_the_keys(capsys):
    out = run_json(capsys, ["wizard", "--carbs", "60", "--bg", "200", "--cr", "15", "--isf", "50",
                            "--target-low", "90", "--target-high", "120", "--iob", "1",
                            "--json"])  # fmt: skip
    assert out == {"food_u": 4.0, "correction_u": 1.6, "iob_u": 1.0, "suggested_u": 4.6,
                   "capped": False, "refused": False, "reason": None}  # fmt: skip


def test_wizard_without_iob_uses_zero_and_caps_and_refuses(capsys):
    base = ["wizard", "--cr", "10", "--isf", "40", "--target-low", "100", "--target-high", "120",
            "--json"]  # fmt: skip
    out = run_json(capsys, base + ["--carbs", "150", "--bg", "160", "--max-bolus", "12"])
    assert out["suggested_u"] == 12.0 and out["capped"] and out["reason"] == "capped_max_bolus"
    assert out["iob_u"] == 0.0 and out["correction_u"] == 1.0
    out = run_json(capsys, base + ["--carbs", "30", "--bg", "65"])
    assert out["refused"] and out["suggested_u"] == 0.0 and out["reason"] == "bg_below_min"
    out = run_json(capsys, base + ["--carbs", "30", "--bg", "65", "--min-bg", "60"])
    assert not out["refused"] and out["suggested_u"] == 2.1  # 3.0 food - 0.875 correction


def test_wizard_text_names_every_part(capsys):
    assert main(["wizard", "--carbs", "50", "--bg", "180", "--cr", "12", "--isf", "50",
                 "--target-low", "100", "--target-high", "120", "--iob", "0.3",
                 "--step", "0.5"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    for word in ("food", "correction", "IOB", "rounded down", "suggested"):
        assert word in text


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["iob", "--dia-min", "200", "--peak-min", "75", "--dose", "1@0", "--at", "5"],
         "--dia-min"),
        (["iob", "--dia-min", "360", "--peak-min", "75", "--dose", "1", "--at", "5"], "--dose"),
        (["iob", "--dia-min", "360", "--peak-min", "75", "--dose", "1@0"], "--at"),
        (["wizard", "--carbs", "30", "--cr", "0.05", "--isf", "50", "--target-low", "90",
          "--target-high", "120"], "--cr"),
        (["wizard", "--carbs", "30", "--cr", "10", "--isf", "50", "--target-low", "130",
          "--target-high", "120"], "--target-low"),
        (["wizard", "--carbs", "30", "--bg", "700", "--cr", "10", "--isf", "50",
          "--target-low", "90", "--target-high", "120"], "--bg"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_naming_the_flag(capsys, argv, flag):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err
