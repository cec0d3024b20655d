"""Durable pump state (REL-1): a CRC-checked record written atomically, plus a history ring.

``state.jnl`` holds what must survive a power cut: insulin delivered (as pulse
counts), reservoir, the bolus in progress, the mode and the standing alarms.
It is rewritten whole for every change (write ``state.tmp``, flush, rename
over ``state.jnl``: littlefs renames atomically), and the rewrite for a pulse
happens BEFORE the motor moves. So a cut at any instant leaves either the old
record or the new one, and the new one never counts a pulse that was not at
least commanded: the count is exact, or one pulse high if the cut fell
between the write and the motor step (under-delivery, never a double dose).

``history.jnl`` is a ring of fixed-size records written in place; each slot
carries its own sequence number and CRC, so a torn slot is simply skipped.
"""

import struct
from binascii import crc32

from pump.compat import const
from pump.delivery import MODES

STATE_NAME = "state.jnl"
TMP_NAME = "state.tmp"
HISTORY_NAME = "history.jnl"
_MAGIC = const(0x314A5550)  # "PUJ1"
# magic, seq, boots, basal pulses, bolus pulses, reservoir mU, bolus id, bolus amount mU,
# bolus mU given, bolus active, mode, standing-alarm bitmask, mU in the last hour, last 24 h,
# temp basal running, therapy clock (s, pump/therapy.py)
_STATE = "<IIIiiiiiiiiiiiii"
_STATE_SIZE = const(64)
_V2_SIZE = const(60)  # records before the therapy clock: read them as clock = 0
_V1_SIZE = const(56)  # firmware 0.1 records had no temp field either: temp = 0
_HISTORY = "<IIiii"  # seq, t_min, kind, a, b
_SLOT = const(24)  # _HISTORY (20 bytes) + crc32
HISTORY_SLOTS = const(128)

HISTORY_KINDS = ("boot", "bolus", "alarm", "day")


class Corrupt(Exception):
    """The state record exists but fails its checks: fall back to safe defaults and alarm.

    ``code`` is one word for the event log: size, crc, magic or range."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class State:
    """The durable fields, as plain ints (see _STATE)."""

    def __init__(self):
        self.seq = 0
        self.boots = 0
        self.basal_pulses = 0
        self.bolus_pulses = 0
        self.reservoir = 0
        self.bolus_id = 0
        self.bolus_amount = 0
        self.bolus_given = 0
        self.bolus_active = 0
        self.mode = 0
        self.alarms = 0
        self.hour = 0  # rolling totals for the DEL-4 limits
        self.day = 0
        self.temp = 0  # 1 while a temporary basal runs: a cut ends it, and says so
        # therapy seconds (pump/therapy.py keeps it current; every commit carries it), so the
        # therapy clock goes on from here after a reboot (insulin on board, reminders)
        self.clock = 0

    def pack(self):
        body = struct.pack(
            _STATE, _MAGIC, self.seq, self.boots, self.basal_pulses, self.bolus_pulses,
            self.reservoir, self.bolus_id, self.bolus_amount, self.bolus_given,
            self.bolus_active, self.mode, self.alarms, self.hour, self.day, self.temp, self.clock,
        )  # fmt: skip
        return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)

    @staticmethod
    def unpack(data):
        size = len(data) - 4
        if size not in (_STATE_SIZE, _V2_SIZE, _V1_SIZE):
            raise Corrupt("size", "state record is %d bytes, not %d" % (len(data), _STATE_SIZE + 4))
        body = data[:size]
        if struct.unpack("<I", data[size:])[0] != crc32(body) & 0xFFFFFFFF:
            raise Corrupt("crc", "state record CRC mismatch")
        if size < _STATE_SIZE:
            body += bytes(_STATE_SIZE - size)
        f = struct.unpack(_STATE, body)
        if f[0] != _MAGIC:
            raise Corrupt("magic", "state record has a bad magic number")
        s = State()
        (_, s.seq, s.boots, s.basal_pulses, s.bolus_pulses, s.reservoir, s.bolus_id,
         s.bolus_amount, s.bolus_given, s.bolus_active, s.mode, s.alarms, s.hour,
         s.day, s.temp, s.clock) = f  # fmt: skip
        if (
            not 0 <= s.mode < len(MODES)
            or min(f[2:10]) < 0
            or s.bolus_active not in (0, 1)
            or s.temp not in (0, 1)
            or s.clock < 0
            or s.bolus_given > s.bolus_amount
            or not 0 <= s.hour <= s.day
        ):
            raise Corrupt("range", "state record fields out of range")
        return s


class Journal:
    def __init__(self, store):
        self.store = store
        self.state = State()
        self.writes = 0
        self.history_seq = 0
        self._ring = RecordRing(store, HISTORY_NAME, HISTORY_SLOTS, HISTORY_KINDS)

    def load(self):
        """The last committed state, or None on first boot; Corrupt if it cannot be trusted."""
        records = self.history()
        self.history_seq = records[-1][0] + 1 if records else 0
        data = self.store.read(STATE_NAME)
        if data is None:
            return None
        self.state = State.unpack(data)
        return self.state

    def commit(self):
        self.state.seq += 1
        self.store.write_atomic(STATE_NAME, TMP_NAME, self.state.pack())
        self.writes += 1

    # -- history ring ---------------------------------------------------------

    def note(self, t_min, kind, a=0, b=0):
        """Append one history record (kind from HISTORY_KINDS) to the ring."""
        self.history_seq = self._ring.append(self.history_seq, t_min, kind, a, b)

    def history(self):
        """Valid history records, oldest first, as (seq, t_min, kind, a, b)."""
        return self._ring.records()


class RecordRing:
    """A file of ``slots`` fixed-size records written in place, oldest overwritten first.

    Each slot holds (seq, t, kind, a, b) and its own CRC, so a torn slot is simply
    skipped when read back. ``kinds`` names the kind numbers (append only: on flash)."""

    def __init__(self, store, name, slots, kinds):
        self.store = store
        self.name = name
        self.slots = slots
        self.kinds = kinds

    def write(self, seq, t, kind, a=0, b=0):
        """Write record ``seq`` into its slot (rewriting the same seq updates it in place)."""
        body = struct.pack(_HISTORY, seq, t, self.kinds.index(kind), a, b)
        slot = body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)
        self.store.write_at(self.name, (seq % self.slots) * _SLOT, slot)

    def append(self, seq, t, kind, a=0, b=0):
        """Write record ``seq``; returns the next sequence number."""
        self.write(seq, t, kind, a, b)
        return seq + 1

    def records(self):
        """Valid records, oldest first, as (seq, t, kind, a, b)."""
        data = self.store.read(self.name) or b""
        out = []
        for i in range(len(data) // _SLOT):
            slot = data[i * _SLOT : (i + 1) * _SLOT]
            body = slot[:20]
            if struct.unpack("<I", slot[20:])[0] != crc32(body) & 0xFFFFFFFF:
                continue  # torn or never written
            seq, t, kind, a, b = struct.unpack(_HISTORY, body)
            if kind < len(self.kinds):
                out.append((seq, t, self.kinds[kind], a, b))
        out.sort(key=lambda r: r[0])
        return out
