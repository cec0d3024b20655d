"""Trace files, format pumptrace/1 (docs/trace-format.md): the reader.

A trace is CSV with one metadata line::

    # pumptrace/1 {"sample_hz": 10, "pulse_u": 0.05, "basal_u_per_h": [[0, 1.0]], ...}
    t_ms,pressure_kpa,connector,label,bg_mgdl
    0,2.1,1,,142
    100,2.0,1,,

The reader checks everything and raises TraceError naming the file and line
(``trace.csv:12: t_ms 1100 is not after 1200 on line 11``), never a traceback.
Pressures are kept as integer Pa, exactly as the firmware sees them. The one
writer is the firmware's (``boards.emu.tracefile.TraceWriter``): the emulated
board, ``pumpctl monitor --record`` and ``pumpctl record`` / ``trace gen`` use it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pumpctl.errors import UsageError
from pumpctl.firmware import import_firmware

import_firmware()
from boards.emu.tracefile import BG_COLUMN, FORMAT  # noqa: E402  (one name, both ends)
from pump.glucose import MAX_MGDL, MIN_MGDL  # noqa: E402  (what the pump accepts)

REQUIRED_META = ("sample_hz", "pulse_u", "basal_u_per_h", "reservoir_u")
REQUIRED_COLUMNS = ("t_ms", "pressure_kpa")
KNOWN_COLUMNS = ("t_ms", "pressure_kpa", "connector", "label", "pulses", BG_COLUMN)
# ground-truth labels: a fault's onset, or the end of the faults before it
FAULT_LABELS = ("occlusion", "kink", "disconnect", "leak", "sensor")
END_LABELS = ("clear", "sensor_ok")
_LABEL_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KPA_RE = re.compile(r"^-?\d+(\.\d{1,3})?$")
MAX_KPA = 1000


class TraceError(UsageError):
    """A malformed trace; the message names the file and line."""


@dataclass
class Trace:
    meta: dict
    columns: list[str]
    t_ms: list[int] = field(default_factory=list)
    pressure_pa: list[int] = field(default_factory=list)
    connector: list[int | None] = field(default_factory=list)
    labels: list[tuple[int, str]] = field(default_factory=list)  # (t_ms, label) onsets
    pulses_ms: list[int] = field(default_factory=list)  # recorded pulses, if the column exists
    bg: list[tuple[int, int]] = field(default_factory=list)  # (t_ms, mg/dL) CGM readings
    path: str = "<trace>"

    @property
    def duration_ms(self) -> int:
        if not self.t_ms:
            return 0
        return self.t_ms[-1] + 1000 // self.meta["sample_hz"]

    def fault_windows(self) -> list[tuple[str, int, int | None]]:
        """(label, onset_ms, end_ms or None) for every fault label, in time order."""
        windows: list[tuple[str, int, int | None]] = []
        open_: list[int] = []
        for t, label in self.labels:
            if label in END_LABELS:
                sensor_end = label == "sensor_ok"
                for i in list(open_):
                    if (windows[i][0] == "sensor") == sensor_end:
                        windows[i] = (windows[i][0], windows[i][1], t)
                        open_.remove(i)
            elif label in FAULT_LABELS:
                windows.append((label, t, None))
                open_.append(len(windows) - 1)
        return windows


def _is_count(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def kpa_to_pa(text: str) -> int:
    neg = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    pa = int(whole) * 1000 + int((frac + "000")[:3])
    return -pa if neg else pa


def _check_meta(meta: object, where: str) -> dict:
    if not isinstance(meta, dict):
        raise TraceError(f"{where}: metadata must be a JSON object")
    for key in REQUIRED_META:
        if key not in meta:
            raise TraceError(f"{where}: metadata is missing {key!r}")
    hz = meta["sample_hz"]
    if type(hz) is not int or not 1 <= hz <= 1000:
        raise TraceError(f"{where}: metadata sample_hz must be an int in 1..1000, got {hz!r}")
    for key in ("pulse_u", "reservoir_u"):
        v = meta[key]
        if type(v) not in (int, float) or v <= 0:
            raise TraceError(f"{where}: metadata {key} must be a positive number, got {v!r}")
    basal = meta["basal_u_per_h"]
    if not isinstance(basal, list) or not basal:
        raise TraceError(f"{where}: metadata basal_u_per_h must be a non-empty list")
    last = -1
    for i, seg in enumerate(basal):
        ok = (isinstance(seg, list) and len(seg) == 2 and type(seg[0]) is int
              and type(seg[1]) in (int, float) and 0 <= seg[0] < 1440 and seg[1] >= 0)
        if not ok or seg[0] <= last or (i == 0 and seg[0] != 0):
            raise TraceError(
                f"{where}: metadata basal_u_per_h[{i}] must be [start_minute, U/h] with start "
                f"minutes increasing from 0, got {seg!r}"
            )
        last = seg[0]
    return meta


def parse(lines: list[str], path: str = "<trace>") -> Trace:
    """Parse the lines of a trace; TraceError names the line of the first problem."""
    if not lines:
        raise TraceError(f"{path}:1: empty file (expected '# {FORMAT} {{...}}')")
    first = lines[0].rstrip("\r\n")
    prefix = f"# {FORMAT} "
    if not first.startswith(prefix):
        got = first[:40]
        if first.startswith("# pumptrace/"):
            raise TraceError(f"{path}:1: unsupported version {first.split()[1]!r} "
                             f"(this reader knows {FORMAT})")
        raise TraceError(f"{path}:1: expected '# {FORMAT} {{...}}' header, got {got!r}")
    try:
        meta = json.loads(first[len(prefix):])
    except ValueError as e:
        raise TraceError(f"{path}:1: metadata is not valid JSON ({e})") from None
    meta = _check_meta(meta, f"{path}:1")
    if len(lines) < 2:
        raise TraceError(f"{path}:2: missing the column line (t_ms,pressure_kpa,...)")
    columns = [c.strip() for c in lines[1].rstrip("\r\n").split(",")]
    for i, need in enumerate(REQUIRED_COLUMNS):
        if len(columns) <= i or columns[i] != need:
            raise TraceError(f"{path}:2: column {i + 1} must be {need!r}, got "
                             f"{columns[i] if len(columns) > i else 'nothing'!r}")
    if len(set(columns)) != len(columns):
        raise TraceError(f"{path}:2: duplicate column name")
    i_conn = columns.index("connector") if "connector" in columns else -1
    i_label = columns.index("label") if "label" in columns else -1
    i_pulses = columns.index("pulses") if "pulses" in columns else -1
    i_bg = columns.index(BG_COLUMN) if BG_COLUMN in columns else -1
    trace = Trace(meta=meta, columns=columns, path=path)
    prev_t = None
    for n, raw in enumerate(lines[2:], 3):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != len(columns):
            raise TraceError(f"{path}:{n}: expected {len(columns)} columns "
                             f"({','.join(columns)}), got {len(cells)}")
        t_text = cells[0].strip()
        if not _is_count(t_text):
            raise TraceError(f"{path}:{n}: t_ms must be a non-negative integer, got {t_text!r}")
        t = int(t_text)
        if prev_t is not None and t <= prev_t:
            raise TraceError(f"{path}:{n}: t_ms {t} is not after {prev_t} on line {n - 1} "
                             "(times must strictly increase)")
        prev_t = t
        p_text = cells[1].strip()
        if not _KPA_RE.match(p_text):
            raise TraceError(f"{path}:{n}: pressure_kpa must be a number with at most 3 "
                             f"decimals, got {p_text!r}")
        pa = kpa_to_pa(p_text)
        if not -MAX_KPA * 1000 <= pa <= MAX_KPA * 1000:
            raise TraceError(f"{path}:{n}: pressure_kpa {p_text} is outside +-{MAX_KPA} kPa")
        trace.t_ms.append(t)
        trace.pressure_pa.append(pa)
        if i_conn >= 0:
            c = cells[i_conn].strip()
            if c not in ("", "0", "1"):
                raise TraceError(f"{path}:{n}: connector must be 1 (closed), 0 (open) or "
                                 f"empty, got {c!r}")
            trace.connector.append(None if c == "" else int(c))
        if i_label >= 0:
            label = cells[i_label].strip()
            if label:
                if not _LABEL_RE.match(label):
                    raise TraceError(f"{path}:{n}: label {label!r} is not a lower-case word")
                trace.labels.append((t, label))
        if i_pulses >= 0:
            p = cells[i_pulses].strip()
            if p and not _is_count(p):
                raise TraceError(f"{path}:{n}: pulses must be a count, got {p!r}")
            trace.pulses_ms.extend([t] * int(p or "0"))
        if i_bg >= 0:
            g = cells[i_bg].strip()
            if g:
                if not _is_count(g) or not MIN_MGDL <= int(g) <= MAX_MGDL:
                    raise TraceError(f"{path}:{n}: {BG_COLUMN} must be a whole number of mg/dL "
                                     f"in {MIN_MGDL}..{MAX_MGDL}, or empty, got {g!r}")
                trace.bg.append((t, int(g)))
    if not trace.t_ms:
        raise TraceError(f"{path}:{len(lines) + 1}: no samples after the column line")
    return trace


def read(path: Path | str) -> Trace:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text file") from None
    return parse(text.splitlines(), str(path))
