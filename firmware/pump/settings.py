"""Pump settings: defaults, limits (DEL-4) and validation.

Stored and exchanged as a dict in human units (U, U/h, s); held in the
firmware as integer milli-units and ms. Every bad field raises InputError
naming it, so a settings file, a scenario or a host command gets the same
clear answer.
"""

import json
from binascii import crc32

from pump.basal import BasalProfile
from pump.units import InputError, to_int, to_milli

# (name in files, attribute, default, lo, hi, kind)
# kind "u": units -> int milli-units; "s": seconds -> int ms; "int": plain int
SPEC = (
    ("pulse_u", "pulse", 0.05, 0.025, 0.1, "u"),
    ("reservoir_u", "reservoir", 300, 0, 300, "u"),
    ("max_bolus_u", "max_bolus", 10, 0.05, 25, "u"),
    ("max_basal_u_per_h", "max_basal", 3, 0.05, 30, "u"),
    ("max_u_per_h", "max_hour", 15, 0.05, 60, "u"),
    ("max_u_per_day", "max_day", 80, 0.05, 300, "u"),
    ("bolus_u_per_min", "bolus_per_min", 1.5, 0.5, 5, "u"),
    ("button_step_u", "button_step", 0.5, 0.05, 5, "u"),
    ("button_timeout_s", "button_timeout_ms", 10, 3, 60, "s"),
    ("long_press_ms", "long_press_ms", 1000, 500, 5000, "int"),
    ("low_reservoir_u", "low_reservoir", 20, 0, 100, "u"),
    ("low_reservoir_h", "low_reservoir_h", 4, 0, 48, "int"),
    ("battery_low_mv", "battery_low_mv", 3500, 2500, 4200, "int"),
    ("battery_empty_mv", "battery_empty_mv", 3300, 2500, 4200, "int"),
)

NAMES = tuple([row[0] for row in SPEC])


class Settings:
    """Validated settings. Attributes hold integers: insulin in mU (``pulse``,
    ``max_bolus``, ...), rates in mU/h, durations in ms."""

    # Set from SPEC by __init__ (setattr); declared for the stub type-check, no runtime cost.
    pulse: int
    reservoir: int
    max_bolus: int
    max_basal: int
    max_hour: int
    max_day: int
    bolus_per_min: int
    button_step: int
    button_timeout_ms: int
    long_press_ms: int
    low_reservoir: int
    low_reservoir_h: int
    battery_low_mv: int
    battery_empty_mv: int

    def __init__(self, values=None, where="settings"):
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise InputError(where, "expected an object")
        for key in sorted(values):  # sorted: the same error on every interpreter
            if key not in NAMES:
                raise InputError(where + "." + str(key), "unknown setting")
        self.source = {}
        for name, attr, default, lo, hi, kind in SPEC:
            raw = values.get(name, default)
            field = where + "." + name
            if kind == "u":
                value = to_milli(raw, field, lo, hi)
            elif kind == "s":
                value = to_int(raw, field, lo, hi) * 1000
            else:
                value = to_int(raw, field, lo, hi)
            self.source[name] = raw
            setattr(self, attr, value)
        self._check(where)

    def _check(self, where):
        for name, attr in (
            ("max_bolus_u", "max_bolus"),
            ("button_step_u", "button_step"),
            ("reservoir_u", "reservoir"),
        ):
            if getattr(self, attr) % self.pulse:
                raise InputError(where + "." + name, "must be a multiple of pulse_u")
        if self.battery_empty_mv >= self.battery_low_mv:
            raise InputError(where + ".battery_empty_mv", "must be below battery_low_mv")
        if self.max_bolus > self.max_hour:
            raise InputError(where + ".max_bolus_u", "must not exceed max_u_per_h")
        if self.max_hour > self.max_day:
            raise InputError(where + ".max_u_per_h", "must not exceed max_u_per_day")


SETTINGS_NAME = "settings.json"
SETTINGS_TMP = "settings.tmp"
PROFILE_NAME = "profile.json"
PROFILE_TMP = "profile.tmp"


def _save_checked(store, name, tmp, values):
    """``values`` as one JSON line plus its CRC line, written atomically (temp file, rename)."""
    body = json.dumps(values).encode()
    store.write_atomic(name, tmp, body + b"\n%08x\n" % (crc32(body) & 0xFFFFFFFF))


def _load_checked(store, name):
    """(values, problem): (None, None) when the file is missing; problem is crc or json."""
    data = store.read(name)
    if data is None:
        return None, None
    lines = data.split(b"\n")
    # the CRC line must match byte for byte (lowercase hex): a flipped letter case is damage too
    if len(lines) != 3 or lines[2] != b"" or lines[1] != b"%08x" % (crc32(lines[0]) & 0xFFFFFFFF):
        return None, "crc"
    try:
        return json.loads(lines[0]), None
    except ValueError:
        return None, "json"


def save_settings(store, values):
    """Write ``values`` (human units, as a scenario holds them) atomically with a CRC line."""
    Settings(values)  # never store what would not load
    _save_checked(store, SETTINGS_NAME, SETTINGS_TMP, values)


def load_settings(store, missing=None):
    """(Settings, problem): problem is None, or one word (crc, json, invalid) when the file
    could not be trusted and the safe defaults are returned instead (REL-1). ``missing``
    stands in for a file never written (default: the default settings)."""
    values, problem = _load_checked(store, SETTINGS_NAME)
    if problem is not None:
        return Settings(), problem
    if values is None:
        return missing or Settings(), None
    try:
        return Settings(values), None
    except InputError:
        return Settings(), "invalid"


def save_profile(store, profile):
    """Keep the basal profile on flash (U/h, as a scenario holds it), so a reboot brings the
    programmed basal back."""
    rows = [[start, rate / 1000] for start, rate in profile.to_list()]
    _save_checked(store, PROFILE_NAME, PROFILE_TMP, {"basal_u_per_h": rows})


def load_config(store, settings, profile):
    """(settings, profile, problem) as stored on flash; ``settings`` and ``profile`` stand in
    for a file never written. A file that cannot be trusted gives the safe defaults (default
    settings, no basal) and names the problem (crc, json, invalid): the app then boots
    suspended with the ``settings`` alarm (REL-1)."""
    settings, problem = load_settings(store, settings)
    if problem is None:
        values, problem = _load_checked(store, PROFILE_NAME)
        if values is not None:
            try:
                if not isinstance(values, dict) or sorted(values) != ["basal_u_per_h"]:
                    raise InputError("profile", "expected {basal_u_per_h: [...]}")
                profile = BasalProfile.parse(values["basal_u_per_h"], settings.max_basal)
            except InputError:
                problem = "invalid"
    if problem is not None:
        return Settings(), BasalProfile.flat(0), problem
    return settings, profile, None
