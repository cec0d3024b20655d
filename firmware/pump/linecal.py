"""What the line detectors learned about this site, kept across reboots.

After a set change (or a prime) the detectors learn the site: the bump one
pulse makes, how fast it decays, the sensor noise and how long the motor's
push takes (pump/linewatch.py). Their thresholds come from those figures, so
a reboot must not send them back to the defaults for the hours a slow basal
needs to learn again: ``linecal.jnl`` holds the figures, one CRC-checked
record rewritten atomically (temp file, rename) whenever calibration moves on
(each pulse until the site is learned, then every SAVE_EVERY learned pulses).
A damaged or foreign record is ignored: the detectors calibrate afresh,
starting from their conservative defaults.
"""

import struct
from binascii import crc32

from pump.compat import const

NAME = "linecal.jnl"
TMP_NAME = "linecal.tmp"
_MAGIC = const(0x334C4350)  # "PCL3" (PCL1 had no bolus response, PCL2 not the excess range
# it was learned over: calibrate afresh)
# magic, set changes seen, bump (Pa), pulses the decay was learned from, pulses anything was
# learned from, decay (leak_l Q8 x 16) and its spread (x 16), noise (x 125), push time (ms x 16),
# and the open line's response to a bolus (pump/bolusline.py): runs learned from, the rise of
# one pulse (Pa), the share let out per 2 s (Q12), the spread of its excess (Pa), the highest
# excess (Pa) it was learned at
_FMT = "<IIiiiiiiiiiiii"
SIZE = const(60)  # _FMT (56 bytes) + crc32
SAVE_EVERY = const(32)
FIELDS = ("sites", "bump", "learned", "updates", "decay", "spread", "noise", "rise",
          "bolus_runs", "bolus_rise", "bolus_share", "bolus_spread", "bolus_top")


def pack(values):
    """``values``: the ints of FIELDS, in order. Returns the record with its CRC."""
    body = struct.pack(_FMT, _MAGIC, *values)
    return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)


def unpack(data):
    """The FIELDS ints from a record, or None if it is missing, damaged or out of range."""
    if data is None or len(data) != SIZE:
        return None
    body = data[: SIZE - 4]
    if struct.unpack("<I", data[SIZE - 4 :])[0] != crc32(body) & 0xFFFFFFFF:
        return None
    got = struct.unpack(_FMT, body)
    if got[0] != _MAGIC:
        return None
    values = got[1:]
    for v in values:
        if v < 0 or v >= 0x10000000:  # every figure is a small non-negative int
            return None
    return values


def load(store):
    """The record in ``store`` (None when there is none or it cannot be trusted)."""
    return unpack(store.read(NAME)) if store is not None else None


def save(store, values):
    if store is not None:
        store.write_atomic(NAME, TMP_NAME, pack(values))
