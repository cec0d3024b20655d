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


def test_a_reader_that_stops_early_gets_no_traceback():
    """`pumpctl ... | head`: the pipe closes before pumpctl writes; it stops quietly with 141."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pumpctl.cli", "iob", "--dia-min", "360", "--peak-min", "75",
         "--dose", "1@0", *[a for t in range(0, 400, 5) for a in ("--at", str(t))], "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(REPO / "host"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    proc.stdout.close()  # the reader is gone before the first write
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
