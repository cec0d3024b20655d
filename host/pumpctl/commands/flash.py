"""`pumpctl flash --port PORT`: compile, upload what changed, verify, switch, reset, confirm."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from pumpctl.bundle import BOARDS
from pumpctl.flash import Flasher, build
from pumpctl.keys import load_key, new_key
from pumpctl.link import Link


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "flash",
        help="flash the firmware to a board or vboard over its serial port",
        description="Compile the firmware with mpy-cross, put the board in maintenance, upload "
        "only the files that changed into the spare slot, verify every SHA-256, switch slots "
        "atomically, reset and confirm the new build from its status frame.",
    )
    p.add_argument("--port", required=True, help="serial device, pty path or socket://HOST:PORT")
    p.add_argument("--board", choices=sorted(BOARDS), default="emu", help="target (default emu)")
    p.add_argument("--no-mpy", action="store_true", help="ship .py sources instead of .mpy")
    p.add_argument("--no-reset", action="store_true", help="leave the board in the raw REPL")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--key", type=Path, metavar="FILE",
                     help="device key (SEC-1): signs maintenance; provisioned if the board "
                     "has none")
    key.add_argument("--new-key", type=Path, metavar="FILE",
                     help="create a random device key in FILE and provision it")
    p.set_defaults(func=run)


def _progress_bar(enabled: bool):
    """A rich progress bar on stderr (imported only when shown: start-up time)."""
    if not enabled:
        return contextlib.nullcontext(), None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("upload", total=None)

    def progress(done: int, total: int, name: str) -> None:
        bar.update(task, completed=done, total=total or None, description=name or "upload")

    return bar, progress


def run(args: argparse.Namespace) -> int:
    key = load_key(args.key) if args.key else None
    fw = build(args.board, compile_mpy=not args.no_mpy)
    if args.new_key:
        key = new_key(args.new_key)
    link = Link.open(args.port)
    bar, progress = _progress_bar(not args.quiet and sys.stderr.isatty())
    try:
        with bar:
            spec = BOARDS[args.board]
            report = Flasher(link, spec.chunk, progress, key, spec.window).run(
                fw, reset=not args.no_reset)
    finally:
        link.close()
    if report.unchanged:
        what = f"unchanged ({len(report.kept)} files verified)"
    else:
        what = (f"{len(report.sent)} sent ({report.bytes_sent} bytes on the link), "
                f"{len(report.copied)} copied on the board, {len(report.kept)} kept")
    print(f"flash: build {report.build_id} in slot {report.slot}: {what}; "
          f"{report.seconds:.2f} s" + ("; confirmed running" if report.confirmed else ""))
    return 0
