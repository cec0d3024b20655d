"""What a simulated day holds: the patient, meals, faults, the user's response time.

Times are elapsed time since the run starts at midnight of day 0: ``1d03:10`` is day 1
(the second day) at 03:10; a bare ``07:30`` is day 0. A meal file (``pumpmeals/1``, JSON)
lists meals either every day (``"at": "07:30"`` with ``"daily": true``) or once
(``"at": "1d07:30"``), and may set the user's response time to alarms::

    {"format": "pumpmeals/1", "response_min": 15,
     "meals": [{"at": "07:00", "carbs_g": 45, "daily": true}, {"at": "1d15:00", "carbs_g": 20}]}

Every error is a SpecError naming the flag (or file field) and the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pumpctl.patient.params import names_summary, patients

FAULT_KINDS = ("occlusion", "disconnect", "leak")
LEAK_PCT = 50
MEALS_FORMAT = "pumpmeals/1"
DEFAULT_RESPONSE_MIN = 15
# simglucose's mean meal times and sizes (RandomScenario): breakfast, lunch, dinner
DEFAULT_MEALS = (("07:00", 45), ("12:00", 70), ("18:00", 80))
_TIME = re.compile(r"^(?:(\d+)d)?(\d{1,2}):(\d{2})$")


class SpecError(ValueError):
    """A bad flag value or meal file entry; the message names where and what."""


@dataclass(frozen=True)
class Meal:
    at_min: int
    carbs_g: float


@dataclass(frozen=True)
class Fault:
    kind: str
    at_min: int


def parse_time(text: str, where: str) -> int:
    """``[Nd]HH:MM`` -> minutes since the run's start (midnight of day 0)."""
    m = _TIME.match(text.strip()) if isinstance(text, str) else None
    if not m or int(m.group(2)) > 23 or int(m.group(3)) > 59:
        raise SpecError(f"{where}: expected a time [DAYd]HH:MM such as 1d03:10, got {text!r}")
    return (int(m.group(1) or 0) * 24 + int(m.group(2))) * 60 + int(m.group(3))


def format_time(minute: int) -> str:
    return f"{minute // 1440}d{minute // 60 % 24:02d}:{minute % 60:02d}"


def check_patient(name: str) -> str:
    if name not in patients():
        raise SpecError(f"--patient: unknown virtual patient {name!r} (known: {names_summary()})")
    return name


def check_days(days: float) -> int:
    """Run length in minutes."""
    if not 0 < days <= 30:
        raise SpecError(f"--days: expected a number of days in (0, 30], got {days:g}")
    return round(days * 1440)


def parse_fault(text: str, minutes: int) -> Fault:
    """``KIND@[Nd]HH:MM`` inside a run of ``minutes``."""
    kind, at, when = text.partition("@")
    if not at:
        raise SpecError(f"--fault: expected KIND@[DAYd]HH:MM such as occlusion@1d03:10, "
                        f"got {text!r}")
    if kind not in FAULT_KINDS:
        raise SpecError(f"--fault: unknown fault {kind!r} in {text!r} "
                        f"(known: {', '.join(FAULT_KINDS)})")
    minute = parse_time(when, f"--fault {text}")
    _inside(minute, minutes, f"--fault {text}")
    return Fault(kind, minute)


def _inside(minute: int, minutes: int, where: str) -> None:
    if minute >= minutes:
        raise SpecError(f"{where}: {format_time(minute)} is outside the run "
                        f"(it ends at {format_time(minutes)})")


def default_meals(minutes: int, start_tod: int = 0, scale: float = 1.0) -> list[Meal]:
    """The default meals of a run of ``minutes`` that starts at minute ``start_tod`` of the
    day (run minutes, in time order), each ``scale`` times the default in whole grams."""
    out = []
    for day in range(minutes // 1440 + 2):
        for at, carbs in DEFAULT_MEALS:
            minute = day * 1440 + parse_time(at, "meal") - start_tod
            if 0 <= minute < minutes:
                out.append(Meal(minute, max(1, round(carbs * scale))))
    return sorted(out, key=lambda m: m.at_min)


def load_meals(path: Path, minutes: int) -> tuple[list[Meal], int]:
    """(meals in time order, response time in minutes) from a pumpmeals/1 file."""
    where = f"--meals {path}"
    try:
        raw = json.loads(path.read_text())
    except OSError as e:
        raise SpecError(f"{where}: cannot read ({e.strerror})") from None
    except ValueError as e:
        raise SpecError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != MEALS_FORMAT:
        raise SpecError(f"{where}: expected an object with \"format\": \"{MEALS_FORMAT}\"")
    for key in sorted(raw):
        if key not in ("format", "meals", "response_min"):
            raise SpecError(f"{where}: unknown key {key!r}")
    response = raw.get("response_min", DEFAULT_RESPONSE_MIN)
    if type(response) is not int or not 0 <= response <= 24 * 60:
        raise SpecError(f"{where}: response_min: expected minutes 0..1440, got {response!r}")
    items = raw.get("meals", [])
    if not isinstance(items, list):
        raise SpecError(f"{where}: meals: expected a list")
    meals = []
    for i, item in enumerate(items):
        here = f"{where}: meals[{i}]"
        if not isinstance(item, dict):
            raise SpecError(f"{here}: expected an object")
        for key in sorted(item):
            if key not in ("at", "carbs_g", "daily"):
                raise SpecError(f"{here}: unknown key {key!r}")
        carbs = item.get("carbs_g")
        if isinstance(carbs, bool) or not isinstance(carbs, int | float) or not 0 < carbs <= 300:
            raise SpecError(f"{here}.carbs_g: expected grams in (0, 300], got {carbs!r}")
        minute = parse_time(item.get("at"), f"{here}.at")
        daily = item.get("daily", False)
        if daily is not True and daily is not False:
            raise SpecError(f"{here}.daily: expected true or false, got {daily!r}")
        if daily:
            if minute >= 1440:
                raise SpecError(f"{here}.at: a daily meal takes a time of day, got {item['at']!r}")
            meals += [Meal(d * 1440 + minute, carbs) for d in range(minutes // 1440 + 1)
                      if d * 1440 + minute < minutes]
        else:
            _inside(minute, minutes, f"{here}.at")
            meals.append(Meal(minute, carbs))
    return sorted(meals, key=lambda m: m.at_min), response
