"""Pump settings: defaults, limits (DEL-4) and validation.

Stored and exchanged as a dict in human units (U, U/h, s); held in the
firmware as integer milli-units and ms. Every bad field raises InputError
naming it, so a settings file, a scenario or a host command gets the same
clear answer.
"""

import json
from binascii import crc32

from pump.actioncurve import DELAY_RANGE, DIA_RANGE, PEAK_RANGE, PRESETS
from pump.basal import BasalProfile
from pump.glucose import UNITS
from pump.units import InputError, segments, to_int, to_milli

INSULINS = ("rapid", "ultra_rapid", "custom")  # the first two are actioncurve.PRESETS

# (name in files, attribute, default, lo, hi, kind)
# kind "u": units -> int milli-units; "s": seconds -> int ms; "int": plain int;
# "choice": one of the names in lo; "bool": true/false; "segs": [[start_minute, int], ...]
# time-of-day segments with values lo..hi; "segs10": the same with one decimal, held x10
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
    # glucose, insulin on board, calculator, reminders (docs/therapy.md)
    ("glucose_unit", "glucose_unit", "mg/dL", UNITS, 0, "choice"),
    ("bg_low_mgdl", "bg_low", 70, 60, 100, "int"),
    ("bg_high_mgdl", "bg_high", 250, 120, 400, "int"),
    ("insulin", "insulin", "rapid", INSULINS, 0, "choice"),
    ("insulin_dia_min", "dia_min", 360, DIA_RANGE[0], DIA_RANGE[1], "int"),
    ("insulin_peak_min", "peak_min", 75, PEAK_RANGE[0], PEAK_RANGE[1], "int"),
    ("insulin_delay_min", "delay_min", 0, DELAY_RANGE[0], DELAY_RANGE[1], "int"),
    ("iob_counts_basal", "iob_basal", False, 0, 0, "bool"),
    ("carb_ratio_g_per_u", "carb_ratio", [[0, 10]], 1, 150, "segs10"),
    ("isf_mgdl_per_u", "isf", [[0, 50]], 5, 400, "segs"),
    ("target_low_mgdl", "target_low", 100, 70, 180, "int"),
    ("target_high_mgdl", "target_high", 120, 70, 200, "int"),
    ("wizard_step_u", "wizard_step", 0.05, 0.025, 1, "u"),
    ("min_bg_calc_mgdl", "min_bg_calc", 70, 50, 90, "int"),
    ("wizard_bg_step_mgdl", "bg_step", 10, 1, 50, "int"),
    ("wizard_carb_step_g", "carb_step", 10, 1, 50, "int"),
    ("set_change_days", "set_change_days", 3, 2, 3, "int"),
    ("bg_check_after_bolus_min", "bg_check_min", 0, 0, 360, "int"),  # 0: off
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
    glucose_unit: str
    bg_low: int
    bg_high: int
    insulin: str
    dia_min: int
    peak_min: int
    delay_min: int
    iob_basal: bool
    carb_ratio: list
    isf: list
    target_low: int
    target_high: int
    wizard_step: int
    min_bg_calc: int
    bg_step: int
    carb_step: int
    set_change_days: int
    bg_check_min: int

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
            elif kind == "choice":
                if raw not in lo:
                    raise InputError(field, "expected one of %r, got %r" % (lo, raw))
                value = raw
            elif kind == "bool":
                if raw is not True and raw is not False:
                    raise InputError(field, "expected true or false")
                value = raw
            elif kind in ("segs", "segs10"):
                value = _segments(raw, field, lo, hi, kind == "segs10")
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
        if self.wizard_step % self.pulse:
            raise InputError(where + ".wizard_step_u", "must be a multiple of pulse_u")
        if self.target_low > self.target_high:
            raise InputError(where + ".target_low_mgdl", "must not exceed target_high_mgdl")
        if self.bg_low >= self.bg_high:
            raise InputError(where + ".bg_low_mgdl", "must be below bg_high_mgdl")
        for name, dia, peak in PRESETS:
            if self.insulin == name:
                for key, attr, value in (
                    ("insulin_dia_min", "dia_min", dia),
                    ("insulin_peak_min", "peak_min", peak),
                ):
                    if key in self.source and self.source[key] != value:
                        raise InputError(
                            where + "." + key, "set insulin to custom to choose your own"
                        )
                    setattr(self, attr, value)


def _segments(raw, where, lo, hi, tenths):
    """[[start_minute, value], ...] (first at minute 0, increasing) -> [[start, int], ...]."""

    def value(raw_value, here):
        if not tenths:
            return to_int(raw_value, here, lo, hi)
        milli = to_milli(raw_value, here, lo, hi)
        if milli % 100:
            raise InputError(here, "%r has more than 1 decimal" % (raw_value,))
        return milli // 100

    starts, values = segments(raw, where, 48, value)
    return [[start, v] for start, v in zip(starts, values)]


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
