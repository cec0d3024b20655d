"""`pumpctl run SCENARIO`: run the firmware on the emulated board and summarize the run."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pumpctl import eventlog, summary
from pumpctl.errors import UsageError
from pumpctl.firmware import import_firmware, run_firmware


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a scenario on the emulated board (MicroPython Unix port by default)",
        description="Run the firmware on the emulated board through SCENARIO in virtual time and "
        "print a summary: timeline, delivered vs programmed insulin, alarms, wall time.",
    )
    p.add_argument("scenario", type=Path, help="scenario file (JSON, format pumpscenario/1)")
    p.add_argument("--events", type=Path, metavar="FILE", help="also write the raw event log here")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--cpython", action="store_true", help="run under CPython instead of the Unix port"
    )
    p.add_argument(
        "--heap", metavar="SIZE", help="MicroPython heap size, e.g. 64K (Unix port only)"
    )
    p.set_defaults(func=run)


def check_scenario(path: Path):
    """Validate with the firmware's own loader under CPython, for errors with JSON line numbers."""
    import_firmware()
    from boards.emu import plant, scenario
    from pump.units import InputError

    try:
        return scenario.load(str(path), plant.FAULTS)
    except InputError as e:
        raise UsageError(f"{path}: {e}" if not str(e).startswith(str(path)) else str(e)) from None


def run(args: argparse.Namespace) -> int:
    scen = check_scenario(args.scenario)
    if args.heap and args.cpython:
        raise UsageError("--heap applies to the MicroPython Unix port, not --cpython")
    started = time.perf_counter()
    proc = run_firmware([str(args.scenario.resolve())], cpython=args.cpython, heap=args.heap)
    wall = time.perf_counter() - started
    if args.events:
        args.events.write_text(proc.stdout)
    events = eventlog.parse(proc.stdout)
    interpreter = "CPython" if args.cpython else "MicroPython Unix port"
    result = summary.summarize(events, scen.name, interpreter, wall)
    if args.json:
        json.dump(result.to_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(summary.render(result))
    return 0
