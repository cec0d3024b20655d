"""`pumpctl vboard --mcu`: the qemu board on a pty in real time; the host tools read it there
as they read a real board's USB serial port (status frames through `pumpctl monitor`), and
with a device key on its littlefs2 RAM flash `pumpctl replay --port` runs the bench-test mode
on it with the detections of the emulated replay."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcu import builder

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import upy_tests  # noqa: E402

KEY = bytes(range(32))


def pumpctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pumpctl.cli", *args], capture_output=True, text=True, cwd=REPO,
        timeout=900,
    )  # fmt: skip


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
    # the emulated sensor, sampled at 10 Hz: each frame carries the samples since the one
    # before (none in the answer to the monitor's status probe when it follows a periodic
    # frame within a tick; fewer when a loaded host made the board skip ticks)
    got = sum(len(s["samples"]) for s in status[1:])
    ticks = (status[-1]["t_ms"] - status[0]["t_ms"]) // 100
    assert 0 < got <= ticks + 1, (got, ticks)


def test_replay_into_the_keyed_qemu_board_finds_what_the_emulated_replay_finds(tmp_path):
    builder().image()
    trace = tmp_path / "occ.csv"
    gen = pumpctl("trace", "gen", str(trace), "--kind", "occlusion", "--rate", "2",
                  "--hours", "0.5", "--onset", "0:10", "--seed", "7")  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    emulated = pumpctl("replay", str(trace), "--json")
    assert emulated.returncode == 0, emulated.stderr
    key, events = tmp_path / "key.hex", tmp_path / "bench.events"
    key.write_text(KEY.hex())
    board = upy_tests.BoardProcess(mcu=True, work=REPO / "build", key=key)
    try:
        on_board = pumpctl("replay", str(trace), "--json", "--port", board.pty, "--key",
                           str(key), "--events", str(events))  # fmt: skip
        wrong = tmp_path / "wrong.hex"
        wrong.write_text((b"\x01" * 32).hex())
        refused = pumpctl("replay", str(trace), "--port", board.pty, "--key", str(wrong))
    finally:
        board.stop()
    assert on_board.returncode == 0, on_board.stderr
    want, got = json.loads(emulated.stdout), json.loads(on_board.stdout)
    assert want["detections"][0]["alarm_ms"] is not None  # the emulator finds the occlusion
    assert got["detections"] == want["detections"]  # onset, alarm, latency, missed insulin
    assert (got["alarms"], got["false_alarms"]) == (want["alarms"], want["false_alarms"])
    assert got["pulses_ms"] == want["pulses_ms"]
    assert refused.returncode != 0 and "refused bench" in refused.stderr  # SEC-1: the key
    log = events.read_text()
    assert " boot board=qemu " in log and "reason=bench" in log and " end delivered=" in log
