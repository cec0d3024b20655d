"""Watch a board's telemetry: status and event frames, commands back, trace recording.

``Session`` owns the link and survives it: when the board resets or the
cable is pulled it says so and reconnects. ``PumpView`` is what the screen
shows, built from status frames. ``TraceRecorder`` writes the pressure
samples of every status frame as a pumptrace/1 file (docs/trace-format.md).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from . import proto, trace
from .errors import PumpctlError
from .firmware import import_firmware
from .keys import Signer
from .link import Link

import_firmware()
from pump.pressure import COUNTS_MAX, FULL_SCALE_PA, counts_to_pa  # noqa: E402

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
    """pumptrace/1 from telemetry: every pressure sample of every status frame, the
    connector, and the motor pulses from the event frames (``pulses`` column).

    Rows are written one status frame late: a pulse's event comes after the
    status frame of its tick, and the row must already count it.
    """

    COLUMNS = ("t_ms", "pressure_kpa", "connector", "label", "pulses")

    def __init__(self, path: Path):
        self.path = path
        self.f: IO[str] | None = None
        self.last_t: int | None = None
        self.offset = 0  # added to board time after a reset, so trace time never goes back
        self.rows = 0
        self.pending: list[tuple[int, int, str]] = []  # (t_ms, counts, connector) not written
        self.pulses: list[int] = []  # board t_ms + offset of pulses not yet in a row

    def _open(self, status: dict) -> None:
        sample_ms = status.get("sample_ms") or 100
        pulse = status.get("pulse_mu")
        rate = status.get("rate_mu_h")
        reservoir = status.get("reservoir_mu")
        meta = {
            "sample_hz": round(1000 / sample_ms),
            "pulse_u": pulse / 1000 if isinstance(pulse, int) and pulse > 0 else 0.05,
            # The status frame carries the rate in force, not the whole profile.
            "basal_u_per_h": [[0, rate / 1000 if isinstance(rate, int) else 0]],
            "reservoir_u": reservoir / 1000 if isinstance(reservoir, int) and reservoir > 0
            else 300,
            "connector_fitted": status.get("connector", -1) in (0, 1),
            "recorded_from": {"board": status.get("board"), "fw": status.get("fw"),
                              "build": status.get("build"), "t_ms": status.get("t_ms")},
        }
        try:
            self.f = open(self.path, "w", encoding="utf-8")
        except OSError as e:
            raise PumpctlError(f"--record: cannot write {self.path}: {e.strerror}") from None
        self.f.write(trace.meta_line(meta))
        self.f.write(",".join(self.COLUMNS) + "\n")

    def on_event(self, line: str) -> None:
        t, _, rest = line.partition(" ")
        if rest.startswith("pulse ") and t.isdigit():
            self.pulses.append(int(t) + self.offset)

    def on_status(self, status: dict) -> None:
        samples = status.get("samples")
        t_ms = status.get("t_ms")
        if not isinstance(samples, list) or not isinstance(t_ms, int):
            return
        if self.f is None:
            self._open(status)
        self._write_pending()
        step = status.get("sample_ms") or 100
        connector = status.get("connector", -1)
        conn = "" if connector not in (0, 1) else str(connector)
        first = t_ms - (len(samples) - 1) * step + self.offset
        newest = self.pending[-1][0] if self.pending else self.last_t
        if newest is not None and first <= newest:
            # The board reset and its clock restarted: continue the trace's time line.
            self.offset += newest + step - first
        for k, counts in enumerate(samples):
            if isinstance(counts, int):
                t = t_ms - (len(samples) - 1 - k) * step + self.offset
                self.pending.append((t, counts, conn))

    def _write_pending(self) -> None:
        assert self.f is not None
        for t, counts, conn in self.pending:
            n = sum(1 for p in self.pulses if p <= t)
            self.pulses = [p for p in self.pulses if p > t]
            pa = counts_to_pa(counts)
            self.f.write(f"{t},{trace.pa_to_kpa(pa)},{conn},,{n or ''}\n")
            self.last_t = t
            self.rows += 1
        self.pending = []
        self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self._write_pending()
            self.f.close()


class Session:
    """A link to one board that reconnects by itself; frames go to ``on_frame``."""

    def __init__(self, port: str, on_frame: Callable[[proto.Frame], None],
                 on_note: Callable[[str], None], key: bytes | None = None):
        self.port = port
        self.on_frame = on_frame
        self.on_note = on_note
        self.signer = Signer(key)
        self.link: Link | None = None
        self.reader = proto.FrameReader()
        self.seq = 0
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
                if item.kind == proto.STATUS:
                    self.signer.on_status(item.body)
                self.on_frame(item)
        return items

    def command(self, name: str, args: dict | None = None) -> int:
        """Send a command frame; its response arrives later through ``on_frame``."""
        if self.link is None:
            raise PumpctlError("not connected")
        self.seq = (self.seq + 1) & 0xFFFF or 1
        self.link.write(self.signer.encode(self.seq, {"cmd": name, "args": args or {}}))
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
