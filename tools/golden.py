"""Golden event logs: the logs of a few scenarios, checked in under tests/golden/.

`make golden` (this script) runs each scenario on CPython AND on the MicroPython Unix port,
refuses to write anything if the two logs differ, and otherwise writes tests/golden/NAME.events.
tests/test_golden.py reruns each scenario on CPython in `make test` and compares byte for byte.

Why CPython in the test: it runs the default day in about a third of the Unix port's time, and
tests/test_differential.py already holds the two interpreters to the same bytes, so one golden
pins both. Regenerate only on purpose (a change meant to alter the log), and say so in the commit.

Usage: python tools/golden.py [NAME ...]   (default: every golden scenario)
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
sys.path.insert(0, str(REPO / "host"))

from pumpctl.firmware import FIRMWARE, firmware_command  # noqa: E402

# name -> scenario; the log is GOLDEN / (name + ".events")
SCENARIOS = {
    "default": REPO / "scenarios" / "default.json",
    "line-faults": GOLDEN / "line-faults.json",
    "delivery": GOLDEN / "delivery.json",
}


def golden_path(name: str) -> Path:
    return GOLDEN / (name + ".events")


def event_log(name: str, cpython: bool) -> bytes:
    """The event log bytes of golden scenario ``name`` on the chosen interpreter."""
    proc = subprocess.run(
        firmware_command([str(SCENARIOS[name])], cpython=cpython),
        capture_output=True,
        cwd=FIRMWARE,
        env=dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1"),
        check=False,
    )
    if proc.returncode != 0:
        where = "CPython" if cpython else "the Unix port"
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{name} failed on {where} (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def first_difference(expected: bytes, actual: bytes, label: str, context: int = 3) -> str:
    """A unified diff of the first differing lines (at most 40 lines of it)."""
    diff = difflib.unified_diff(
        expected.decode(errors="replace").splitlines(),
        actual.decode(errors="replace").splitlines(),
        fromfile=label + " (checked in)",
        tofile=label + " (this run)",
        n=context,
        lineterm="",
    )
    lines = []
    for line in diff:
        lines.append(line)
        if len(lines) >= 40:
            lines.append("... (more differences follow)")
            break
    if not lines:  # same lines, different bytes: line endings or a missing last newline
        return f"{label}: same lines, different bytes (line endings or the final newline)"
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the golden event logs in tests/golden/ (on purpose only): each "
        "scenario runs on CPython and on the MicroPython Unix port, and nothing is written unless "
        "the two logs are byte-identical."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(SCENARIOS))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown golden scenario {unknown[0]} (expected {', '.join(SCENARIOS)})")
    failed = 0
    for name in args.names or list(SCENARIOS):
        print(f"{name}: running on CPython and the Unix port ...", flush=True)
        try:
            on_cpy = event_log(name, cpython=True)
            on_mpy = event_log(name, cpython=False)
        except RuntimeError as e:
            print(f"golden: {e}", file=sys.stderr)
            failed += 1
            continue
        if on_cpy != on_mpy:
            print(
                f"golden: {name}: CPython and the Unix port disagree; nothing written:",
                file=sys.stderr,
            )
            print(first_difference(on_cpy, on_mpy, name + " CPython"), file=sys.stderr)
            failed += 1
            continue
        path = golden_path(name)
        old = path.read_bytes() if path.exists() else b""
        count = on_cpy.count(b"\n")
        if old == on_cpy:
            print(f"  {path.relative_to(REPO)} unchanged ({count} events)")
        else:
            path.write_bytes(on_cpy)
            print(
                f"  {path.relative_to(REPO)} WRITTEN ({count} events); "
                "review `git diff` before committing"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
