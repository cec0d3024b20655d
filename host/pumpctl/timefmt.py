"""Times as people read them, for every host tool: one formatter, so a scenario time, a report
line and a summary timeline never disagree about what 1:05:00 means."""

from __future__ import annotations

DAY_MS = 24 * 3600 * 1000


def hms(ms: int, *, tenths: bool = False, round_up: bool = False) -> str:
    """``ms`` as H:MM:SS, hours not wrapped (27:05:00): the scenario time format
    (docs/scenarios.md). Whole seconds are rounded down, or up with ``round_up`` (a scenario
    time that must not come before ``ms``); ``tenths`` adds ``.d``."""
    s = -(-ms // 1000) if round_up else ms // 1000
    text = f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{text}.{ms % 1000 // 100}" if tenths else text


def time_of_day(t_ms: int, tod_offset_ms: int) -> str:
    """Board time ``t_ms`` as a clock time (HH:MM:SS) with ``tod_offset_ms`` the time of day
    at t = 0; from the second day on, prefixed ``day N`` (always the same width)."""
    at = t_ms + tod_offset_ms
    day, tod = divmod(at, DAY_MS)
    text = hms(tod).rjust(8, "0")
    return f"day {day + 1} {text}" if day else f"      {text}"
