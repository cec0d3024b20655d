"""`pumpctl vboard --mcu`: the qemu board on a pty in real time; the host tools read it there
as they read a real board's USB serial port (status frames through `pumpctl monitor`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcu import builder

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import upy_tests  # noqa: E402


@pytest.fixture
def qemu_board():
    builder().image()  # skip (or fail in CI) without the toolchain; build once, cached
    board = upy_tests.BoardProcess(mcu=True, work=REPO / "build")
    yield board
    board.stop()


def test_monitor_reads_the_qemu_board_over_its_uart(qemu_board):
    proc = subprocess.run(
        [sys.executable, "-m", "pumpctl.cli", "monitor", "--port", qemu_board.pty, "--json",
         "--count", "3", "--duration", "120"],
        capture_output=True, text=True, cwd=REPO, timeout=180,
    )  # fmt: skip
    frames = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    status = [f["body"] for f in frames if f["kind"] == "status"]
    assert len(status) >= 2, proc.stdout + proc.stderr
    assert {s["board"] for s in status} == {"qemu"}  # the qemu board, booted the one way
    assert status[0]["mode"] == "run" and status[0]["rate_mu_h"] == 1000
    assert status[-1]["t_ms"] > status[0]["t_ms"]  # its clock runs
    assert all(s["samples"] for s in status[1:])  # the emulated sensor, sampled at 10 Hz
