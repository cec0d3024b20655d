"""`pumpctl run`: the summary a newcomer sees, --json, --events, --cpython, and usage errors."""

import json
import subprocess
import sys

from emu import REPO

DEFAULT = str(REPO / "scenarios" / "default.json")


def pumpctl(*args):
    return subprocess.run(
        [sys.executable, "-m", "pumpctl.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "host"), "PATH": "/usr/bin:/bin"},
    )


def test_json_summary_matches_the_event_log(tmp_path):
    events = tmp_path / "events.log"
    proc = pumpctl("run", DEFAULT, "--json", "--events", str(events))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    lines = events.read_text().splitlines()
    pulses = [line for line in lines if " pulse " in line]
    assert summary["pulses"] == len(pulses) and summary["events"] == len(lines)
    assert summary["delivered_mu"] == summary["basal_mu"] + summary["bolus_mu"] == 50 * len(pulses)
    assert summary["max_basal_error_mu"] < summary["pulse_mu"]
    assert summary["interpreter"] == "MicroPython Unix port"
    started = [line.split(" src=")[1] for line in lines if " bolus state=started " in line]
    assert [b["src"] for b in summary["boluses"]] == started
    # the default day has a button bolus, a host bolus and calculator (wizard) boluses
    assert {"button", "host", "wizard"} <= set(started)


def test_readable_summary_and_cpython_option():
    proc = pumpctl("run", DEFAULT, "--cpython")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in (
        "Timeline:",
        "bolus 2.000 U started (button)",
        "temp basal 50 %",
        "mode -> suspended",
        "within one pulse",
        "Wall time:",
        "on CPython",
    ):
        assert needle in out


def test_usage_errors_exit_2_with_a_message():
    proc = pumpctl("run")
    assert proc.returncode == 2 and "pumpctl:" in proc.stderr and "Traceback" not in proc.stderr
    proc = pumpctl("run", DEFAULT, "--heap", "64K", "--cpython")
    assert proc.returncode == 2 and "--heap" in proc.stderr
    proc = pumpctl("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
