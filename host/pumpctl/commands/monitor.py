"""`pumpctl monitor --port PORT`: live view of a board, or JSON lines, and trace recording."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import time
from pathlib import Path

from pumpctl import proto
from pumpctl.errors import UsageError
from pumpctl.keys import load_key
from pumpctl.monitor.recorder import TraceRecorder
from pumpctl.monitor.session import Session
from pumpctl.monitor.view import KEYS_HELP, PumpView, frame_json, render


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="live view of a board's telemetry (or --json lines); reconnects by itself",
        description="Show the pump's status frames live: mode, basal rate, bolus, delivered "
        "today, reservoir, battery, glucose with its trend and insulin on board, a pressure "
        "sparkline and alarms. " + KEYS_HELP + ".",
    )
    p.add_argument("--port", required=True, help="serial device, pty path or socket://HOST:PORT")
    p.add_argument("--json", action="store_true", help="print one JSON object per frame")
    p.add_argument("--record", type=Path, metavar="FILE", help="write a pumptrace/1 trace")
    p.add_argument("--bolus", type=float, default=0.5, metavar="U",
                   help="amount the b key requests (default 0.5 U; the pump confirms)")
    p.add_argument("--key", type=Path, metavar="FILE",
                   help="device key (SEC-1) to sign commands with, when the board has one")
    p.add_argument("--status-ms", type=int, metavar="MS",
                   help="ask the board for a status frame every MS board-ms (telemetry command)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--count", type=int, metavar="N", help="stop after N status frames")
    p.set_defaults(func=run)


def _keys():
    """Single keypresses from a terminal stdin (cbreak mode), else nothing."""
    if not sys.stdin.isatty():
        return contextlib.nullcontext(None)
    import termios
    import tty

    @contextlib.contextmanager
    def cbreak():
        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        try:
            yield fd
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)

    return cbreak()


def _key(fd: int | None) -> str:
    if fd is None or not select.select([fd], [], [], 0)[0]:
        return ""
    return os.read(fd, 1).decode(errors="replace")


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise UsageError("--count: must be at least 1")
    view = PumpView()
    recorder = TraceRecorder(args.record) if args.record else None
    statuses = 0

    def note(text: str) -> None:
        view.notes.append(text)
        if args.json or not sys.stdout.isatty():
            sys.stderr.write(f"monitor: {text}\n")
            sys.stderr.flush()

    def on_frame(frame: proto.Frame) -> None:
        nonlocal statuses
        view.frames += 1
        if args.json:
            sys.stdout.write(frame_json(frame) + "\n")
            sys.stdout.flush()
        if frame.kind == proto.STATUS:
            statuses += 1
            view.on_status(frame.body)
            if recorder is not None:
                recorder.on_status(frame.body)
        elif frame.kind == proto.EVENT:
            line = str(frame.body.get("line", ""))
            view.events.append(line)
            if recorder is not None:
                recorder.on_event(line)
        elif frame.kind in (proto.RESPONSE, proto.ERROR):
            name = session.pending.pop(frame.seq, "?")
            if frame.kind == proto.ERROR:
                view.bad_frames += 1
                note(f"{name}: error {frame.body.get('error')}: {frame.body.get('detail')}")
            else:
                result = "ok" if frame.body.get("ok") else f"refused: {frame.body.get('reason')}"
                note(f"{name}: {result}")

    session = Session(args.port, on_frame, note, load_key(args.key) if args.key else None)
    deadline = time.monotonic() + args.duration if args.duration else None
    live = None
    if not args.json and sys.stdout.isatty():
        from rich.live import Live

        live = Live(render(view, args.port), refresh_per_second=4, screen=False)
    try:
        with _keys() as fd, (live or contextlib.nullcontext()):
            asked = None  # the link the telemetry rate was last asked on
            while True:
                session.poll()
                if args.status_ms and session.link is not None and asked is not session.link \
                        and (session.signer.auth is not None or session.signer.key is None):
                    session.command("telemetry", {"status_ms": args.status_ms})
                    asked = session.link  # again after every reconnect
                key = _key(fd)
                if key == "q":
                    break
                if key and session.link is not None:
                    if key == "a":
                        session.command("ack")
                    elif key == "b":
                        session.command("bolus", {"amount_u": args.bolus})
                    elif key == "s":
                        session.command("status")
                if live is not None:
                    live.update(render(view, args.port))
                if args.count is not None and statuses >= args.count:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
    finally:
        session.close()
        if recorder is not None:
            recorder.close()
    if recorder is not None:
        sys.stderr.write(f"monitor: recorded {recorder.rows} samples to {args.record}\n")
    return 0
