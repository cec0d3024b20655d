"""Reading the firmware's event log (docs/events.md): `<t_ms> <kind> key=value ...` per line."""

from __future__ import annotations

from dataclasses import dataclass, field

from pumpctl.errors import UsageError


@dataclass(frozen=True)
class Event:
    t_ms: int
    kind: str
    fields: dict[str, str] = field(default_factory=dict)

    def int(self, key: str, default: int = 0) -> int:
        value = self.fields.get(key)
        return default if value is None else int(value)


def parse_line(line: str, lineno: int = 0) -> Event:
    parts = line.split()
    if len(parts) < 2 or not parts[0].lstrip("-").isdigit():
        raise UsageError(f"event log line {lineno}: expected '<t_ms> <kind> ...', got {line!r}")
    fields = {}
    for item in parts[2:]:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"event log line {lineno}: expected key=value, got {item!r}")
        fields[key] = value
    return Event(int(parts[0]), parts[1], fields)


def parse(text: str) -> list[Event]:
    return [parse_line(line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
