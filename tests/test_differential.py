"""Same inputs, same event log, byte for byte: CPython against the MicroPython Unix port."""

import json
import os

from emu import REPO, run_subprocess, scenario
from hypothesis import given, settings
from strategies import programs


def test_default_scenario_is_byte_identical(tmp_path):
    raw = json.loads((REPO / "scenarios" / "default.json").read_text())
    on_mpy = run_subprocess(raw, tmp_path, cpython=False)
    on_cpy = run_subprocess(raw, tmp_path, cpython=True)
    assert on_mpy.count(b"\n") > 500 and b" end delivered=" in on_mpy
    assert on_mpy == on_cpy


@settings(max_examples=int(os.environ.get("DIFF_EXAMPLES", "6")))  # make fuzz: 200
@given(programs())
def test_generated_scenarios_are_byte_identical(tmp_path_factory, raw):
    tmp = tmp_path_factory.mktemp("diff")
    assert run_subprocess(raw, tmp, cpython=False) == run_subprocess(raw, tmp, cpython=True)


def test_crossing_the_2_30_tick_wrap_changes_nothing(tmp_path):
    """Start the board clock 30 min before the wrap: the log must equal a run far from it."""
    raw = json.loads((REPO / "scenarios" / "default.json").read_text())
    raw["duration"] = "3:00"
    raw["actions"] = [
        {"at": "0:29:50", "press": [150, 150, 1500]},
        {"at": "0:45:00", "command": "temp_basal", "args": {"percent": 150, "duration_min": 30}},
        {"at": "0:29:59", "command": "bolus", "args": {"amount_u": 1, "duration_min": 20}},
    ]
    far = run_subprocess(dict(raw, clock_start_ticks=0), tmp_path, cpython=False)
    near = run_subprocess(
        dict(raw, clock_start_ticks=(1 << 30) - 30 * 60_000), tmp_path, cpython=False
    )
    assert b"state=started" in far and b"state=confirmed" in far
    assert near == far


def test_unix_port_does_not_depend_on_scenario_order_of_simultaneous_actions(tmp_path):
    raw = scenario(
        actions=[
            {"at": "0:10:00", "command": "suspend"},
            {"at": "0:10:00", "command": "resume"},
            {"at": "0:10:00", "command": "bolus", "args": {"amount_u": 0.5}},
        ]
    )
    log = run_subprocess(raw, tmp_path, cpython=False)
    names = [line.split()[2] for line in log.decode().splitlines() if " command " in line]
    assert names == ["name=suspend", "name=resume", "name=bolus"]


def test_a_blockage_in_a_bolus_at_another_bolus_speed_is_byte_identical(tmp_path):
    """The bolus test at a period of no whole number of ticks (4.2 U/min: 714 ms a pulse) on a
    widened plant: the site learned from a first bolus, a blockage found in the second by its
    climb (with the period fixed at 2 s: 40 s after the onset, by the sensor's range)."""
    raw = scenario(
        duration="0:40",
        settings={"bolus_u_per_min": 4.2},
        basal_u_per_h=[[0, 1.0]],
        plant={"sample": 3790138292, "widened": True},
        actions=[
            {"at": "0:05:00", "command": "bolus", "args": {"amount_u": 2}},
            {"at": "0:20:00", "command": "bolus", "args": {"amount_u": 5}},
            {"at": "0:20:30", "fault": "occlusion"},
        ],
    )
    on_mpy = run_subprocess(raw, tmp_path, cpython=False)
    raised = [line for line in on_mpy.splitlines() if b"kind=occlusion" in line]
    assert raised and int(raised[0].split()[0]) < 1240000  # by the climb: within 10 s
    assert on_mpy == run_subprocess(raw, tmp_path, cpython=True)
