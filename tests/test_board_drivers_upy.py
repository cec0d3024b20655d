"""The drivers behave the same on the MicroPython Unix port as under CPython."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "upy" / "drivers_run.py"


def run(cmd):
    result = subprocess.run(cmd + [str(SCRIPT)], capture_output=True, text=True,
                            cwd=REPO / "firmware", env={"MICROPYPATH": str(REPO / "firmware"),
                                                        "PYTHONPATH": str(REPO / "firmware")})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_drivers_match_between_cpython_and_micropython():
    cpython = run([sys.executable])
    micropython = run([str(Path(sys.executable).parent / "micropython")])
    assert micropython == cpython
    assert cpython.splitlines() == [
        # stable after bounce, held, released, tap between polls seen once, idle
        "button [1, 1, 0, 1, 0]",
        # 3 pulses x 6 steps - 5 retracted; 1 + 23 x 2 step writes; DIR reverse; EN off
        "stepper 13 47 0 1 46",
        # fed for 1500 ms after delivery's last check-in (25 x 100 ms), then stale
        "watchdog 25 delivery",
    ]
