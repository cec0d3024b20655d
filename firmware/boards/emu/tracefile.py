"""Trace files (pumptrace/1, docs/trace-format.md): the one writer, and the emulated board's
recorder and player.

``TraceWriter`` is the only code that writes pumptrace/1: the emulated board's
recorder, ``pumpctl monitor --record`` and ``pumpctl record`` / ``trace gen``
all go through it. ``TraceRecorder`` writes what the emulated sensor read, tick
by tick, while a scenario runs against the plant, and the CGM readings the pump
reports in its event log (the optional ``bg_mgdl`` column, ``cgm_reading``);
``TracePressure`` and ``TraceConnector`` play
a trace back into the firmware instead of the plant (open loop: the firmware
keeps its own delivery schedule). Portable: runs on the Unix port. The host
validates the CSV (errors with line numbers) and converts it to a 100 ms grid
of counts (``GridSamples``) before the firmware reads it.
"""

import json
from array import array

from pump.compat import const, micropython, ptr16
from pump.pressure import counts_to_pa

from boards import hal

FORMAT = "pumptrace/1"


def fmt_kpa(pa):
    """Pa (int) as kPa with 3 decimals, e.g. 2100 -> '2.100', -50 -> '-0.050' (no floats)."""
    if pa < 0:
        return "-" + fmt_kpa(-pa)
    return "%d.%03d" % (pa // 1000, pa % 1000)


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


COLUMNS = "t_ms,pressure_kpa,connector,label,pulses"
BG_COLUMN = "bg_mgdl"


def cgm_reading(line):
    """mg/dL of the CGM reading an event-log line reports (``T bg mgdl=N src=cgm ...``),
    or 0 when the line is not one."""
    parts = line.split(" ", 4)
    if len(parts) < 4 or parts[1] != "bg" or parts[3] != "src=cgm":
        return 0
    value = parts[2][5:]
    return int(value) if parts[2].startswith("mgdl=") and value.isdigit() else 0


class TraceWriter:
    """Writes a pumptrace/1 file to ``out`` (a text stream): the metadata line and the column
    line now, then one ``row`` per sample. ``bg``: with the optional ``bg_mgdl`` column."""

    def __init__(self, out, meta, bg=False):
        self.out = out
        self.rows = 0
        self.bg = bg
        out.write(header_line(meta))
        out.write(COLUMNS + ("," + BG_COLUMN if bg else "") + "\n")

    def row(self, t_ms, pa, connector, label, pulses, bg_mgdl=0):
        """One sample: ``pa`` the pressure in integer Pa, ``connector`` 1 closed, 0 open or None
        (no switch, or not known), ``label`` ground truth or '', ``pulses`` motor pulses since
        the previous row, ``bg_mgdl`` a CGM reading the pump received by this row (0: none;
        written only with the column)."""
        conn = "" if connector is None else "%d" % connector
        line = "%d,%s,%s,%s,%d" % (t_ms, fmt_kpa(pa), conn, label, pulses)
        if self.bg:
            line += ",%d\n" % bg_mgdl if bg_mgdl else ",\n"
        else:
            line += "\n"
        self.out.write(line)
        self.rows += 1


class TraceRecorder:
    """Wraps a board's pressure sensor: every reading also becomes a trace row. With ``bg``
    the pump's event log goes through ``events`` (a text stream around it) and each CGM
    reading it reports lands in the ``bg_mgdl`` cell of the next row."""

    def __init__(self, out, meta, board, bg=False):
        self.out = out
        self.board = board
        self.inner = board.pressure
        self.plant = board.plant
        self._pulses = 0
        self._labels = []
        self._bg = []  # CGM readings reported since the last row
        self.writer = TraceWriter(out, meta, bg)

    def events(self, log):
        """A stream for the event log that writes to ``log`` and notes the CGM readings."""
        return _EventTap(log, self._bg)

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
        closed = 1 if board.connector.closed() else 0
        bg = self._bg.pop(0) if self._bg else 0
        self.writer.row(now, counts_to_pa(counts), closed, label, pulses, bg)
        return counts


class _EventTap:
    """The event log on its way out: every line is written on, CGM readings are noted."""

    def __init__(self, log, readings):
        self.log = log
        self.readings = readings

    def write(self, line):
        mgdl = cgm_reading(line)
        if mgdl:
            self.readings.append(mgdl)
        return self.log.write(line)


GRID_MS = const(100)  # the replay grid: the control task samples every 100 ms
OPEN_BIT = const(0x8000)  # in a grid sample: the connector switch reads open
CHUNK = 2048


class GridSamples:
    """A trace as the host hands it to the firmware for replay: one little-endian uint16
    per GRID_MS (the row in force at that time), ADC counts in bits 0..11 and OPEN_BIT.
    The host parses and checks the CSV once; the board only indexes an array, so a
    replay costs the firmware about what reading a real ADC does."""

    def __init__(self, path):
        # A path, or a file the vboard opened before its host filesystem went away.
        self.f = open(path, "rb") if isinstance(path, str) else path
        self.buf = array("H", bytes(2 * CHUNK))
        self.base = 0  # grid index of buf[0]
        self.n = self.f.readinto(self.buf) // 2
        self.last = self.buf[0] if self.n else 0

    def at(self, now):
        k = now // GRID_MS - self.base
        while k >= self.n and self.n == CHUNK:
            self.base += CHUNK
            k -= CHUNK
            self.n = self.f.readinto(self.buf) // 2
        if 0 <= k < self.n:
            self.last = self.buf[k]
        return self.last  # past the end: hold the last sample


# TracePressure.read_raw and TraceConnector.closed write out the lookup of GridSamples.at for
# the common case (the sample lies in the chunk read) instead of calling one shared function:
# both run every control tick of a replay, and folding them into one (native) call measured
# 1,227 more x86 instructions per scheduler step (callgrind, Unix port: 1.5 % of a replay step,
# as much as whole per-step cuts of issue 14 saved), so the four lines stay twice. Both are
# viper functions (the chunk read by pointer): the same source is plain Python under CPython.
# A replay runs on the Unix port, where the virtual ms of ``clock.now`` fit a machine word.
class TracePressure(hal.PressureSensor):
    def __init__(self, samples, clock):
        self.samples = samples
        self.clock = clock

    @micropython.viper
    def read_raw(self) -> int:
        samples = self.samples
        now = self.clock.now
        k = int(now) // GRID_MS - int(samples.base)
        if 0 <= k and k < int(samples.n):  # samples.at(now), inlined for the common case
            value = int(ptr16(samples.buf)[k])  # an array of "H"
            samples.last = value
        else:
            value = int(samples.at(now))
        return value & 0x0FFF


class TraceConnector(hal.Connector):
    def __init__(self, samples, clock, fitted):
        self.samples = samples
        self.clock = clock
        self.fitted = fitted

    @micropython.viper
    def closed(self) -> bool:
        samples = self.samples
        now = self.clock.now
        k = int(now) // GRID_MS - int(samples.base)
        if 0 <= k and k < int(samples.n):  # samples.at(now), inlined for the common case
            value = int(ptr16(samples.buf)[k])  # an array of "H"
            samples.last = value
        else:
            value = int(samples.at(now))
        return (value & OPEN_BIT) == 0
