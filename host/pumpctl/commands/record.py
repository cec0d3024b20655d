"""`pumpctl record SCENARIO TRACE`: run a scenario on the emulated plant, write the trace."""

from __future__ import annotations

import argparse
from pathlib import Path

from pumpctl import traceplay
from pumpctl.commands.run import check_scenario


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record",
        help="record a pressure trace from a scenario run on the emulated board",
        description="Run SCENARIO on the emulated board (plant model, closed loop) and write "
        "every pressure sample the firmware read, the connector switch, the ground-truth "
        "fault labels and the motor pulses to TRACE (pumptrace/1).",
    )
    p.add_argument("scenario", type=Path, help="scenario file (pumpscenario/1)")
    p.add_argument("trace", type=Path, help="trace file to write")
    p.add_argument("--cpython", action="store_true", help="run under CPython, not the Unix port")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_scenario(args.scenario)
    events = traceplay.record(args.scenario, args.trace, args.cpython)
    alarms = [e for e in events if e.kind == "alarm" and e.fields.get("state") == "raised"]
    print(f"wrote {args.trace}: {events[-1].t_ms / 3600000:.2f} h, "
          f"{sum(1 for e in events if e.kind == 'pulse')} pulses, {len(alarms)} alarms raised")
    return 0
