"""`pumpctl replay TRACE --port PORT`: a trace streamed into a flashed vboard's bench-test
mode gives the report and the detections `pumpctl replay TRACE` gives on the emulator;
bench mode needs the device key, says so on the pump and leaves delivery stopped after."""

from __future__ import annotations

import json
import subprocess

import pytest
from pumpctl import proto
from pumpctl.bundle import BOARDS
from pumpctl.flash import Flasher, build
from pumpctl.link import Link
from vboard_helpers import REPO, VBoardProcess, pumpctl_argv

KEY = bytes(range(32))


def pumpctl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*pumpctl_argv(), *args], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )


@pytest.fixture(scope="module")
def keyed_board(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    board = VBoardProcess(work / "flash.img")  # real time: a slow host is not an idle one
    link = Link.open(board.url)
    try:
        assert Flasher(link, BOARDS["emu"].chunk, key=KEY).run(build("emu")).confirmed
    finally:
        link.close()
    (work / "key.hex").write_text(KEY.hex())
    yield board, work
    board.stop()


@pytest.fixture(scope="module")
def occlusion_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "occ.csv"
    gen = pumpctl("trace", "gen", str(path), "--kind", "occlusion", "--rate", "2",
                  "--hours", "0.5", "--onset", "0:10", "--seed", "7")  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    return path


def test_replay_into_the_vboard_finds_what_the_emulated_replay_finds(keyed_board, occlusion_trace):
    board, work = keyed_board
    emulated = pumpctl("replay", str(occlusion_trace), "--json")
    assert emulated.returncode == 0, emulated.stderr
    key, events = str(work / "key.hex"), str(work / "bench.events")
    on_board = pumpctl("replay", str(occlusion_trace), "--json", "--port", board.url,
                       "--key", key, "--events", events)  # fmt: skip
    assert on_board.returncode == 0, on_board.stderr
    want, got = json.loads(emulated.stdout), json.loads(on_board.stdout)
    assert want["detections"][0]["alarm_ms"] is not None  # the emulator finds the occlusion
    assert got["detections"] == want["detections"]  # onset, alarm, latency, missed insulin
    assert (got["alarms"], got["false_alarms"]) == (want["alarms"], want["false_alarms"])
    assert got["pulses_ms"] == want["pulses_ms"]  # the same delivery schedule, pulse by pulse
    log = (work / "bench.events").read_text()
    assert " boot board=emu " in log and " end delivered=" in log


def test_bench_mode_needs_the_key_and_the_pump_says_so(keyed_board, occlusion_trace, tmp_path):
    board, work = keyed_board
    wrong = tmp_path / "wrong.hex"
    wrong.write_text((b"\x01" * 32).hex())
    refused = pumpctl("replay", str(occlusion_trace), "--port", board.url, "--key", str(wrong))
    assert refused.returncode != 0 and "refused bench" in refused.stderr
    # after a bench session the pump is back, delivery stopped (maintenance) until resumed
    link = Link.open(board.url)
    try:
        reader = proto.FrameReader(keep_text=False)
        status = None
        while status is None:
            for kind, item in reader.feed(link.read_until(b"\n", timeout=10)):
                if kind == "frame" and item.kind == proto.STATUS:
                    status = item.body
        assert status["bench"] == 0 and status["mode"] == "maintenance"
    finally:
        link.close()
