"""Replay a trace into a board over its serial link (``pumpctl replay TRACE --port PORT``).

The board's bench-test mode (firmware/boards/bench.py) takes the trace's samples in
place of its pressure sensor: the host asks for it with the signed ``bench`` command
(the pump set up from the trace's metadata exactly as ``pumpctl replay`` sets up the
emulated board), streams the 100 ms grid of samples as ``samples`` commands (as fast as
the board takes them, or paced to real time), collects the EVENT frames, and the board
logs its totals when the trace ends. The event log then goes through the same
detection summary as the emulated replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pumpctl import proto, trace, traceplay
from pumpctl.errors import PumpctlError
from pumpctl.keys import Signer
from pumpctl.link import Link, LinkTimeout

CHUNK = 50  # samples per command (5 s of trace)
STATUS_TIMEOUT_S = 15.0
ANSWER_TIMEOUT_S = 20.0
END_TIMEOUT_S = 60.0
FULL_RETRY_S = 0.05


def bench_setup(tr: trace.Trace) -> dict:
    """The ``bench`` command's arguments: the replay scenario's pump setup."""
    from boards.emu.scenario import parse_time

    scen = traceplay.scenario_for(tr)
    return {
        "settings": scen["settings"],
        "basal_u_per_h": scen["basal_u_per_h"],
        "start_ms": parse_time(scen["start_time"], "start_time"),
        "connector_fitted": scen["connector_fitted"],
    }


def end_ms(tr: trace.Trace) -> int:
    """Where the emulated replay stops: the scenario's duration."""
    from boards.emu.scenario import parse_time

    return parse_time(traceplay.scenario_for(tr)["duration"], "duration")


class BenchSession:
    """The host's side of one bench session on an open link."""

    def __init__(self, link: Link, key: bytes, progress: Callable[[int, int], None] | None = None):
        self.link = link
        self.signer = Signer(key)
        self.reader = proto.FrameReader(keep_text=False)
        self.seq = 0
        self.events: list[str] = []
        self.status: dict = {}
        self.progress = progress or (lambda done, total: None)

    def _frames(self, timeout: float) -> list[proto.Frame]:
        data = self.link.read_available()
        if not data:
            try:
                data = self.link.read_until(b"\n", timeout=timeout)
            except LinkTimeout:
                return []
        frames = []
        for kind, item in self.reader.feed(data):
            if kind != "frame":
                continue
            if item.kind == proto.EVENT:
                self.events.append(item.body.get("line", ""))
            elif item.kind == proto.STATUS:
                self.status = item.body
                self.signer.on_status(item.body)
            frames.append(item)
        return frames

    def wait_status(self, check: Callable[[dict], bool], what: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        asked = 0.0
        while time.monotonic() < deadline:
            self._frames(0.5)
            if self.status and check(self.status):
                return self.status
            if time.monotonic() - asked > 2.0:  # status is open (unsigned) on every board
                self.command("status", {}, sign=False, answer=False)
                asked = time.monotonic()
        raise PumpctlError(f"the board did not report {what} within {timeout:.0f} s")

    def command(self, cmd: str, args: dict, sign: bool = True, answer: bool = True) -> dict:
        """Send one command; its RESPONSE body (or raise on an ERROR frame)."""
        self.seq = (self.seq + 1) & 0xFFFF
        body = {"cmd": cmd, "args": args}
        frame = self.signer.encode(self.seq, body) if sign else proto.encode(
            proto.COMMAND, self.seq, body)  # fmt: skip
        self.link.write(frame)
        if not answer:
            return {}
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            for f in self._frames(0.5):
                if f.seq != self.seq:
                    continue
                if f.kind == proto.ERROR:
                    raise PumpctlError(f"the board refused {cmd}: {f.body.get('detail')}")
                if f.kind == proto.RESPONSE:
                    return f.body
        raise PumpctlError(f"the board did not answer {cmd} within {ANSWER_TIMEOUT_S:.0f} s")

    def run(self, tr: trace.Trace, real_time: bool = False) -> list[str]:
        """Stream ``tr`` through bench mode; the bench app's event log lines."""
        self.wait_status(lambda s: True, "its status", STATUS_TIMEOUT_S)
        if not self.status.get("nonce"):
            raise PumpctlError("the board has no device key: bench mode needs one "
                               "(provision it with pumpctl flash --key)")  # fmt: skip
        answer = self.command("bench", bench_setup(tr))
        if not answer.get("ok"):
            raise PumpctlError(f"the board refused bench mode: {answer.get('reason')}")
        self.status = {}
        self.wait_status(lambda s: s.get("bench") == 1, "bench mode", STATUS_TIMEOUT_S)
        samples = traceplay.grid(tr).tolist()
        total = len(samples)
        t0 = time.monotonic()
        sent = 0
        while sent < total:
            chunk = samples[sent : sent + CHUNK]
            args: dict = {"s": chunk}
            if sent + len(chunk) >= total:
                args["end_ms"] = end_ms(tr)
            if real_time:
                ahead = sent * traceplay.GRID_MS / 1000 - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            answer = self.command("samples", args, sign=False)
            if answer.get("ok"):
                sent += len(chunk)
                self.progress(sent, total)
            elif answer.get("reason") == "full":
                time.sleep(FULL_RETRY_S)
            else:
                raise PumpctlError(f"the board refused samples: {answer.get('reason')}")
        deadline = time.monotonic() + END_TIMEOUT_S + (total * 0.1 if real_time else 0)
        while not any(" bench state=off" in line for line in self.events):
            if time.monotonic() > deadline:
                raise PumpctlError("the board did not end the bench session")
            self._frames(0.5)
        return bench_log(self.events)


def bench_log(lines: list[str]) -> list[str]:
    """The bench app's own event lines: after the pump's ``bench state=requested``, up to
    ``bench state=off``, without the bench lines themselves."""
    start = max(i for i, line in enumerate(lines) if " bench state=requested" in line)
    out = []
    for line in lines[start + 1 :]:
        if " bench state=off" in line:
            break
        if " bench " not in line:
            out.append(line)
    return out
