"""`pumpctl replay TRACE`: run the real firmware open loop on a trace; report detections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pumpctl import detections, eventlog, trace, traceplay
from pumpctl.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a pressure trace into the firmware and report detections",
        description="Run the firmware on the emulated board with its pressure sensor (and "
        "connector switch) read from TRACE, in virtual time at full speed. The firmware keeps "
        "its own delivery schedule. Prints a detection report: each labelled fault with its "
        "onset, alarm, latency and missed insulin, and the false alarms. With --port the "
        "trace goes into a board instead (real, qemu or vboard) over its serial link, in its "
        "bench-test mode (needs the device key): the same report from the board's own log.",
    )
    p.add_argument("trace", type=Path, help="trace file (pumptrace/1)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--events", type=Path, metavar="FILE", help="also write the event log here")
    p.add_argument("--cpython", action="store_true", help="run under CPython, not the Unix port")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="draw pressure, pulses, labels and alarms (matplotlib)")
    p.add_argument("--port", help="replay into the board on this serial port (device, pty or "
                   "socket://HOST:PORT) in its bench-test mode, instead of the emulator")
    p.add_argument("--key", type=Path, metavar="FILE",
                   help="with --port: the board's device key (SEC-1); bench mode needs it")
    p.add_argument("--real-time", action="store_true",
                   help="with --port: send the samples at the trace's pace (default: as fast "
                   "as the board takes them; the board's clock follows the samples either way)")
    p.set_defaults(func=run)


def replay_on_board(args: argparse.Namespace) -> tuple[trace.Trace, str]:
    """The trace through a board's bench-test mode; the trace and the board's event log."""
    from pumpctl.benchplay import BenchSession
    from pumpctl.keys import load_key
    from pumpctl.link import Link

    if args.key is None:
        raise UsageError("--port: bench mode needs the board's device key: give --key FILE")
    if args.cpython:
        raise UsageError("--cpython is for the emulated replay, not --port")
    key = load_key(args.key)
    tr = trace.read(args.trace)
    link = Link.open(args.port)
    try:
        shown = [0]

        def progress(done: int, total: int) -> None:
            percent = done * 100 // total
            if percent >= shown[0] + 10 or done == total:
                shown[0] = percent
                print(f"replay: {done}/{total} samples sent", file=sys.stderr, flush=True)

        lines = BenchSession(link, key, progress).run(tr, args.real_time)
    finally:
        link.close()
    return tr, "".join(line + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    if args.port:
        tr, text = replay_on_board(args)
    elif args.key or args.real_time:
        raise UsageError("--key and --real-time go with --port")
    else:
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
