"""`pumpctl monitor --record`: the pressure samples of every status frame as a pumptrace/1
file (docs/trace-format.md), written through the firmware's one trace writer."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from ..errors import PumpctlError
from ..firmware import import_firmware

import_firmware()
from boards.emu.tracefile import TraceWriter, cgm_reading  # noqa: E402
from pump.pressure import counts_to_pa  # noqa: E402


class TraceRecorder:
    """pumptrace/1 from telemetry: every pressure sample of every status frame, the
    connector, the motor pulses from the event frames (``pulses`` column) and the CGM
    readings the pump reports (``bg_mgdl`` column: the first row at or after the reading).

    Rows are written one status frame late: a pulse's event comes after the
    status frame of its tick, and the row must already count it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.f: IO[str] | None = None
        self.writer: TraceWriter | None = None
        self.last_t: int | None = None
        self.offset = 0  # added to board time after a reset, so trace time never goes back
        self.pending: list[tuple[int, int, int | None]] = []  # (t_ms, counts, connector)
        self.pulses: list[int] = []  # board t_ms + offset of pulses not yet in a row
        self.readings: list[tuple[int, int]] = []  # (t_ms + offset, mg/dL) not yet in a row

    @property
    def rows(self) -> int:
        return self.writer.rows if self.writer is not None else 0

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
        self.writer = TraceWriter(self.f, meta, bg=True)

    def on_event(self, line: str) -> None:
        t, _, rest = line.partition(" ")
        if not t.isdigit():
            return
        if rest.startswith("pulse "):
            self.pulses.append(int(t) + self.offset)
        mgdl = cgm_reading(line)
        if mgdl:
            self.readings.append((int(t) + self.offset, mgdl))

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
        conn = connector if connector in (0, 1) else None
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
        assert self.f is not None and self.writer is not None
        for t, counts, conn in self.pending:
            n = sum(1 for p in self.pulses if p <= t)
            self.pulses = [p for p in self.pulses if p > t]
            bg = 0
            if self.readings and self.readings[0][0] <= t:
                bg = self.readings.pop(0)[1]
            self.writer.row(t, counts_to_pa(counts), conn, "", n, bg)
            self.last_t = t
        self.pending = []
        self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self._write_pending()
            self.f.close()
