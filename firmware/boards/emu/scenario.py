"""Scenario files (format ``pumpscenario/1``): what the emulated world does, and when.

A scenario sets the pump's settings and basal profile, how long to run, and
timed actions: button presses, host commands, connector changes and fault
injections. The loader is portable (it runs inside the firmware on the Unix
port and in the host tools under CPython) and every error names the field,
e.g. ``actions[3].at: expected H:MM[:SS], got '7h'``. See docs/scenarios.md.
"""

import json
from array import array
from collections import namedtuple

from pump import commands, glucose
from pump.basal import BasalProfile
from pump.settings import Settings
from pump.units import InputError, to_int

FORMAT = "pumpscenario/1"
TOP_KEYS = (
    "format",
    "name",
    "description",
    "duration",
    "start_time",
    "clock_start_ticks",
    "seed",
    "battery_percent",
    "connector_fitted",
    "settings",
    "basal_u_per_h",
    "actions",
    "plant",
)
# fault kinds handled by the board itself; the plant declares its own (plant.FAULTS)
BOARD_FAULTS = ("stall", "battery", "connector", "reboot")
MAX_HOLD_MS = 60000
ACTION_KINDS = ("press", "command", "fault", "bg_mgdl", "bg_mmol", "cgm_mgdl")
_ACTION_KEYS = {
    "press": ("at", "press", "gap_ms"),
    "command": ("at", "command", "args"),
    "bg_mgdl": ("at", "bg_mgdl", "source"),
    "bg_mmol": ("at", "bg_mmol", "source"),
    "cgm_mgdl": ("at", "cgm_mgdl", "every_min"),
}


def _sort_by_time(actions):
    """Sort ``actions`` by time in place, ties in file order. MicroPython's sort is not
    stable, and decorating each action with its index costs a tuple per action at once;
    the list is nearly sorted already, so an insertion sort is about linear and allocates
    nothing."""
    for i in range(1, len(actions)):
        action = actions[i]
        j = i
        while j > 0 and actions[j - 1].at > action.at:
            actions[j] = actions[j - 1]
            j -= 1
        actions[j] = action


def parse_time(text, where):
    """'H:MM' or 'H:MM:SS' (hours may pass 24) -> ms."""
    if not isinstance(text, str):
        raise InputError(where, "expected a time 'H:MM[:SS]', got %r" % (text,))
    parts = text.split(":")
    ok = len(parts) in (2, 3)
    for p in parts:
        ok = ok and p.isdigit()
    if ok:
        h = int(parts[0])
        m = int(parts[1])
        sec = int(parts[2]) if len(parts) == 3 else 0
        ok = m < 60 and sec < 60 and len(parts[1]) == 2
    if not ok:
        raise InputError(where, "expected a time 'H:MM[:SS]', got %r" % (text,))
    return ((h * 60 + m) * 60 + sec) * 1000


# at: ms since boot; kind: "press", "command", "cgm" (data: mg/dL, one reading the CGM sends
# through the host), "cgm_stream" (data: a CgmStream, played reading by reading) or a fault
# kind; n: the action's place in the file (actions at the same time go in file order)
Action = namedtuple("Action", ("at", "kind", "data", "n"))
class CgmStream:
    """A CGM stream's readings (mg/dL) every ``every`` ms from ``at``. Kept as one array
    (2 bytes a reading) and played one reading at a time (runner.ScenarioDriver): a day's
    stream as 288 actions held 28 KB of a 64 KB Cortex-M3 heap (an instance and a command
    tuple each), more than the pump's own objects."""

    def __init__(self, at, every, readings):
        self.at = at
        self.every = every
        self.readings = readings

    def at_of(self, j):
        return self.at + j * self.every

    def reading(self, j, n):
        """Reading ``j`` as an action (``n``: the stream's place in the file)."""
        return Action(self.at + j * self.every, "cgm", self.readings[j], n)


# the user's and the host's actions: what a replay plays (the trace is the rest of the world)
USER_KINDS = ("command", "press", "cgm", "cgm_stream")


class Scenario:
    def __init__(self, raw, plant_faults=()):
        if not isinstance(raw, dict):
            raise InputError("scenario", "expected a JSON object at the top level")
        for key in sorted(raw):  # sorted: the same error on every interpreter
            if key not in TOP_KEYS:
                raise InputError(repr(key), "unknown key (known: %s)" % ", ".join(TOP_KEYS))
        if raw.get("format") != FORMAT:
            raise InputError("format", "expected %r, got %r" % (FORMAT, raw.get("format")))
        name = raw.get("name", "unnamed")
        if not isinstance(name, str):
            raise InputError("name", "expected a string")
        self.name = name
        self.duration = parse_time(raw.get("duration", "24:00"), "duration")
        if self.duration <= 0:
            raise InputError("duration", "must be positive")
        self.start_tod = parse_time(raw.get("start_time", "0:00"), "start_time")
        if self.start_tod >= 86400000:
            raise InputError("start_time", "must be a time of day before 24:00")
        self.clock_start_ticks = to_int(
            raw.get("clock_start_ticks", 0), "clock_start_ticks", 0, 0x3FFFFFFF
        )
        self.seed = to_int(raw.get("seed", 1), "seed", 0, 0xFFFFFFFF)
        self.battery_percent = to_int(raw.get("battery_percent", 100), "battery_percent", 0, 100)
        fitted = raw.get("connector_fitted", True)
        if fitted is not True and fitted is not False:
            raise InputError("connector_fitted", "expected true or false")
        self.connector_fitted = fitted
        self.settings = Settings(raw.get("settings", {}), "settings")
        self.profile = BasalProfile.parse(
            raw.get("basal_u_per_h", [[0, 1.0]]), self.settings.max_basal
        )
        self.actions = self._actions(raw.get("actions", []), plant_faults)
        self.plant_params = _plant_params(raw.get("plant"))

    def _actions(self, raw, plant_faults):
        if not isinstance(raw, list):
            raise InputError("actions", "expected a list")
        out = []
        for i, item in enumerate(raw):
            where = "actions[%d]" % i
            if not isinstance(item, dict):
                raise InputError(where, "expected an object")
            at = parse_time(item.get("at"), where + ".at")
            if at > self.duration:
                raise InputError(where + ".at", "after the end of the scenario")
            out.extend(self._action(item, at, where, plant_faults, i))
        _sort_by_time(out)
        return out

    def _action(self, item, at, where, plant_faults, n=0):
        kinds = [k for k in ACTION_KINDS if k in item]
        if len(kinds) != 1:
            raise InputError(where, "needs exactly one of %s" % ", ".join(ACTION_KINDS))
        kind = kinds[0]
        for key in sorted(item):
            if kind != "fault" and key not in _ACTION_KEYS[kind]:
                raise InputError(where + "." + str(key), "unknown key for a %s action" % kind)
        if kind == "press":
            return self._presses(item, at, where, n)
        if kind in ("bg_mgdl", "bg_mmol"):
            mgdl = glucose.parse_one(item[kind], kind[3:], where + "." + kind)
            source = glucose.parse_source(item.get("source", "finger"), where + ".source")
            return [Action(at, "command", ("bg", mgdl, source), n)]
        if kind == "cgm_mgdl":
            return [Action(at, "cgm_stream", self._cgm(item, at, where), n)]
        if kind == "command":
            command = commands.parse(item["command"], item.get("args"), where)
            return [Action(at, "command", command, n)]
        fault = item["fault"]
        if fault not in BOARD_FAULTS and fault not in plant_faults:
            known = ", ".join(BOARD_FAULTS + tuple(plant_faults))
            raise InputError(where + ".fault", "unknown fault %r (known: %s)" % (fault, known))
        return [Action(at, fault, self._fault_args(fault, item, where), n)]

    def _cgm(self, item, at, where):
        """A CGM stream: one reading every ``every_min`` (default 5) from ``at`` on."""
        values = item["cgm_mgdl"]
        if not isinstance(values, list) or not values:
            raise InputError(where + ".cgm_mgdl", "expected a list of mg/dL readings")
        every = to_int(item.get("every_min", 5), where + ".every_min", 1, 60) * 60000
        readings = array("H", bytes(2 * len(values)))
        for j in range(len(values)):
            here = "%s.cgm_mgdl[%d]" % (where, j)
            if at + j * every > self.duration:
                raise InputError(here, "after the end of the scenario")
            readings[j] = glucose.parse_one(values[j], "mgdl", here)
        return CgmStream(at, every, readings)

    def _presses(self, item, at, where, n):
        holds = item["press"]
        if type(holds) is int:
            holds = [holds]
        if not isinstance(holds, list) or not holds:
            raise InputError(where + ".press", "expected a hold time in ms or a list of them")
        gap = to_int(item.get("gap_ms", 500), where + ".gap_ms", 100, 10000)
        out = []
        t = at
        for j, hold in enumerate(holds):
            hold = to_int(hold, "%s.press[%d]" % (where, j), 50, MAX_HOLD_MS)
            out.append(Action(t, "press", hold, n))
            t += hold + gap
        return out

    def _fault_args(self, fault, item, where):
        if fault == "stall":
            task = item.get("task")
            if not isinstance(task, str):
                raise InputError(where + ".task", "expected a task name")
            return (task, to_int(item.get("ms"), where + ".ms", 1, 600000))
        if fault == "reboot":
            for key in sorted(item):
                if key not in ("at", "fault"):
                    raise InputError(where + "." + str(key), "unknown key for a reboot")
            return None
        if fault == "battery":
            return to_int(item.get("percent"), where + ".percent", 0, 100)
        if fault == "connector":
            closed = item.get("closed")
            if closed is not True and closed is not False:
                raise InputError(where + ".closed", "expected true or false")
            return closed
        args = {}
        for key in item:
            if key not in ("at", "fault"):
                args[key] = item[key]
        from boards.emu.plant import check_fault_args

        problem = check_fault_args(fault, args)
        if problem is not None:
            raise InputError(where + "." + problem[0], problem[1])
        return args


def _plant_params(raw):
    """The line model's parameters (docs/detection.md): nominal, sampled or overridden."""
    from boards.emu import plantparams

    try:
        return plantparams.from_spec(raw, "plant")
    except ValueError as e:
        raise InputError("plant", str(e).split(": ", 1)[-1]) from None


def load(path, plant_faults=()):
    """Read and validate a scenario file; InputError (naming the field) if bad."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(path, "cannot read: %s" % e) from None
    try:
        text = data.decode()
    except ValueError:  # UnicodeError on both interpreters
        raise InputError(path, "not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise InputError(path, "not valid JSON (%s)" % e) from None
    return Scenario(raw, plant_faults)
