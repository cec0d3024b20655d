"""`pumpctl replay TRACE`: run the real firmware open loop on a trace; report detections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pumpctl import detections, eventlog, traceplay


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a pressure trace into the firmware and report detections",
        description="Run the firmware on the emulated board with its pressure sensor (and "
        "connector switch) read from TRACE, in virtual time at full speed. The firmware keeps "
        "its own delivery schedule. Prints a detection report: each labelled fault with its "
        "onset, alarm, latency and missed insulin, and the false alarms.",
    )
    p.add_argument("trace", type=Path, help="trace file (pumptrace/1)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--events", type=Path, metavar="FILE", help="also write the event log here")
    p.add_argument("--cpython", action="store_true", help="run under CPython, not the Unix port")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="draw pressure, pulses, labels and alarms (matplotlib)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tr, text = traceplay.replay(args.trace, args.cpython)
    if args.events:
        args.events.write_text(text)
    summary = detections.summarize(tr, eventlog.parse(text), str(args.trace))
    if args.plot:
        from pumpctl import plot

        plot.plot(tr, summary, args.plot)
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(detections.render(summary))
    return 0
