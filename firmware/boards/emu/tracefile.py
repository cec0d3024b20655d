"""Trace files (pumptrace/1, docs/trace-format.md) on the emulated board.

``TraceRecorder`` writes what the emulated sensor read, tick by tick, while a
scenario runs against the plant; ``TracePressure`` and ``TraceConnector`` play
a trace back into the firmware instead of the plant (open loop: the firmware
keeps its own delivery schedule). Portable: runs on the Unix port. The host
validates a trace (with line numbers) before the firmware reads it, so the
reader here stays lean.
"""

import json

from boards import hal
from boards.emu.plant import pa_to_counts

FORMAT = "pumptrace/1"
FULL_SCALE_PA = 200000
COUNTS_MAX = 4095


def counts_to_pa(counts):
    return (counts * FULL_SCALE_PA + COUNTS_MAX // 2) // COUNTS_MAX


def fmt_kpa(pa):
    """Pa (int >= 0) as kPa with 3 decimals, e.g. 2100 -> '2.100' (no floats)."""
    return "%d.%03d" % (pa // 1000, pa % 1000)


def parse_kpa(text):
    """'2.1' / '2.100' / '2' -> Pa as an int (no floats: exact on every interpreter)."""
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    frac = (frac + "000")[:3]
    pa = int(whole or "0") * 1000 + int(frac)
    return -pa if neg else pa


class Raw:
    """Text that goes into the JSON as it is (a number already formatted)."""

    def __init__(self, text):
        self.text = text


def dumps(value):
    """JSON with sorted keys and no float repr: the same bytes on every interpreter."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        keys = sorted(value)
        return "{" + ", ".join([json.dumps(k) + ": " + dumps(value[k]) for k in keys]) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join([dumps(v) for v in value]) + "]"
    return json.dumps(value)


def header_line(meta):
    return "# %s %s\n" % (FORMAT, dumps(meta))


COLUMNS = "t_ms,pressure_kpa,connector,label,pulses\n"


class TraceRecorder:
    """Wraps a board's pressure sensor: every reading also becomes a trace row."""

    def __init__(self, out, meta, board):
        self.out = out
        self.board = board
        self.inner = board.pressure
        self.plant = board.plant
        self._pulses = 0
        self._labels = []
        out.write(header_line(meta))
        out.write(COLUMNS)

    def read_raw(self):
        counts = self.inner.read_raw()
        board = self.board
        now = board.clock.now
        for item in self.plant.take_labels():
            self._labels.append(item[1])
        label = ""
        if self._labels:
            label = self._labels.pop(0)
        pulses = board.motor.pulses - self._pulses
        self._pulses = board.motor.pulses
        self.out.write(
            "%d,%s,%d,%s,%d\n"
            % (
                now,
                fmt_kpa(counts_to_pa(counts)),
                1 if board.connector.closed() else 0,
                label,
                pulses,
            )
        )
        return counts


class _Rows:
    """Reads the trace rows in time order; ``at(now)`` is the row in force at ``now``."""

    def __init__(self, path):
        # A path, or a file the vboard opened before its host filesystem went away.
        self.f = open(path) if isinstance(path, str) else path
        self.f.readline()  # metadata (the host has checked it)
        names = self.f.readline().strip().split(",")
        self.i_p = names.index("pressure_kpa")
        self.i_c = names.index("connector") if "connector" in names else -1
        self.row = None
        self.next = self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            return None
        return line.rstrip("\n").split(",")

    def at(self, now):
        nxt = self.next
        while nxt is not None and int(nxt[0]) <= now:
            self.row = nxt
            nxt = self._read()
        self.next = nxt
        if self.row is None:  # before the first row: hold the first
            self.row = nxt
        return self.row


class TracePressure(hal.PressureSensor):
    def __init__(self, rows, clock):
        self.rows = rows
        self.clock = clock

    def read_raw(self):
        row = self.rows.at(self.clock.now)
        return pa_to_counts(parse_kpa(row[self.rows.i_p]))


class TraceConnector(hal.Connector):
    def __init__(self, rows, clock, fitted):
        self.rows = rows
        self.clock = clock
        self.fitted = fitted and rows.i_c >= 0

    def closed(self):
        if self.rows.i_c < 0:
            return True
        value = self.rows.at(self.clock.now)[self.rows.i_c]
        return value != "0"
