"""Watch a board's telemetry: status and event frames, commands back, trace recording.

``Session`` owns the link and survives it: when the board resets or the
cable is pulled it says so and reconnects. ``PumpView`` is what the screen
shows, built from status frames. ``TraceRecorder`` writes the pressure
samples of every status frame as a pumptrace/1 file (DESIGN section 4).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from . import proto
from .errors import PumpctlError
from .link import Link

COUNTS_MAX = 4095  # boards/hal.py PressureSensor
FULL_SCALE_PA = 200000
SPARK = "▁▂▃▄▅▆▇█"
PRIORITY_NAMES = {1: "low", 2: "medium", 3: "high"}


def counts_to_kpa(counts: int) -> float:
    return counts * FULL_SCALE_PA / COUNTS_MAX / 1000


def sparkline(values: list[float], width: int = 60) -> str:
    values = values[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / span * len(SPARK)))]
                   for v in values)


class PumpView:
    """The latest status plus a pressure history, as the screen shows it."""

    def __init__(self, history: int = 600):
        self.status: dict = {}
        self.pressure_kpa: deque[float] = deque(maxlen=history)
        self.events: deque[str] = deque(maxlen=8)
        self.notes: deque[str] = deque(maxlen=4)  # connection news, command results
        self.frames = 0
        self.bad_frames = 0

    def on_status(self, body: dict) -> None:
        self.status = body
        samples = body.get("samples")
        if isinstance(samples, list) and samples:
            self.pressure_kpa.extend(counts_to_kpa(c) for c in samples if isinstance(c, int))
        elif isinstance(body.get("pressure"), int):
            self.pressure_kpa.append(counts_to_kpa(body["pressure"]))

    def standing_alarms(self) -> list[list]:
        alarms = self.status.get("alarms")
        return alarms if isinstance(alarms, list) else []


class TraceRecorder:
    """pumptrace/1: one metadata line, a CSV header, one row per pressure sample."""

    def __init__(self, path: Path):
        self.path = path
        self.f: IO[str] | None = None
        self.last_t: int | None = None
        self.offset = 0  # added to board time after a reset, so trace time never goes back
        self.rows = 0

    def _open(self, status: dict) -> None:
        sample_ms = status.get("sample_ms") or 100
        meta = {
            "sample_hz": round(1000 / sample_ms),
            "pulse_u": status["pulse_mu"] / 1000 if isinstance(status.get("pulse_mu"), int)
            else None,
            "basal_u_per_h": None,
            "recorded_from": {"board": status.get("board"), "fw": status.get("fw"),
                              "build": status.get("build")},
        }
        if isinstance(status.get("rate_mu_h"), int):
            meta["basal_u_per_h"] = [[0, status["rate_mu_h"] / 1000]]
        if isinstance(status.get("reservoir_mu"), int):
            meta["reservoir_u"] = status["reservoir_mu"] / 1000
        try:
            self.f = open(self.path, "w", encoding="utf-8")
        except OSError as e:
            raise PumpctlError(f"--record: cannot write {self.path}: {e.strerror}") from None
        self.f.write("# pumptrace/1 " + json.dumps(meta) + "\n")
        self.f.write("t_ms,pressure_kpa,connector,label\n")

    def on_status(self, status: dict) -> None:
        samples = status.get("samples")
        t_ms = status.get("t_ms")
        if not isinstance(samples, list) or not isinstance(t_ms, int):
            return
        if self.f is None:
            self._open(status)
        assert self.f is not None
        step = status.get("sample_ms") or 100
        connector = status.get("connector", -1)
        conn = "" if connector not in (0, 1) else str(connector)
        first = t_ms - (len(samples) - 1) * step + self.offset
        if self.last_t is not None and first <= self.last_t:
            # The board reset and its clock restarted: continue the trace's time line.
            self.offset += self.last_t + step - first
        for k, counts in enumerate(samples):
            if not isinstance(counts, int):
                continue
            t = t_ms - (len(samples) - 1 - k) * step + self.offset
            self.f.write(f"{t},{counts_to_kpa(counts):.2f},{conn},\n")
            self.last_t = t
            self.rows += 1
        self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


class Session:
    """A link to one board that reconnects by itself; frames go to ``on_frame``."""

    def __init__(self, port: str, on_frame: Callable[[proto.Frame], None],
                 on_note: Callable[[str], None], auth: proto.Auth | None = None):
        self.port = port
        self.on_frame = on_frame
        self.on_note = on_note
        self.auth = auth
        self.link: Link | None = None
        self.reader = proto.FrameReader()
        self.seq = 0
        self.counter = 0
        self.connected_once = False
        self.retry_at = 0.0
        self.last_frame = time.monotonic()
        self.pending: dict[int, str] = {}  # seq -> command name awaiting a response

    def _connect(self) -> None:
        if time.monotonic() < self.retry_at:
            return
        try:
            self.link = Link.open(self.port)
        except PumpctlError as e:
            if not self.connected_once:
                raise
            self.retry_at = time.monotonic() + 0.5
            self.on_note(f"waiting for {self.port}: {e}")
            return
        self.reader = proto.FrameReader()
        self.on_note(("reconnected to " if self.connected_once else "connected to ") + self.port)
        self.connected_once = True
        self.last_frame = time.monotonic()

    def _drop(self, why: str) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None
        self.on_note(f"link lost ({why}); reconnecting")
        self.retry_at = time.monotonic() + 0.2

    def poll(self) -> list[tuple[str, object]]:
        """Read what the board sent; returns the reader items (frames, errors, text)."""
        if self.link is None:
            self._connect()
            if self.link is None:
                time.sleep(0.05)
                return []
        try:
            data = self.link.read_available()
        except PumpctlError as e:
            self._drop(str(e))
            return []
        items = self.reader.feed(data)
        for kind, item in items:
            if kind == "frame":
                self.last_frame = time.monotonic()
                self.on_frame(item)
        return items

    def command(self, name: str, args: dict | None = None) -> int:
        """Send a command frame; its response arrives later through ``on_frame``."""
        if self.link is None:
            raise PumpctlError("not connected")
        self.seq = (self.seq + 1) & 0xFFFF or 1
        body = {"cmd": name, "args": args or {}}
        if self.auth is not None:
            self.counter += 1
            line = proto.encode(proto.COMMAND, self.seq, body, auth=self.auth,
                                counter=self.counter)
        else:
            line = proto.encode(proto.COMMAND, self.seq, body)
        self.link.write(line)
        self.pending[self.seq] = name
        return self.seq

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None


def frame_json(frame: proto.Frame) -> str:
    """One frame as one JSON line (``pumpctl monitor --json``)."""
    return json.dumps({"kind": proto.KIND_NAMES.get(frame.kind, str(frame.kind)),
                       "seq": frame.seq, "t_host": round(time.time(), 3), "body": frame.body},
                      sort_keys=True)
