"""pumpctl: one CLI for the pump's host tools. Commands live in pumpctl.commands.*."""

from __future__ import annotations

import argparse
import os
import sys

from pumpctl import __version__
from pumpctl.commands import campaign as campaign_cmd
from pumpctl.commands import flash as flash_cmd
from pumpctl.commands import iob as iob_cmd
from pumpctl.commands import monitor as monitor_cmd
from pumpctl.commands import record as record_cmd
from pumpctl.commands import replay as replay_cmd
from pumpctl.commands import run as run_cmd
from pumpctl.commands import sim as sim_cmd
from pumpctl.commands import trace as trace_cmd
from pumpctl.commands import vboard as vboard_cmd
from pumpctl.commands import wizard as wizard_cmd
from pumpctl.errors import PumpctlError

COMMANDS = (
    run_cmd, sim_cmd, vboard_cmd, flash_cmd, monitor_cmd, replay_cmd, record_cmd, trace_cmd,
    campaign_cmd,
    iob_cmd, wizard_cmd,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors, in our format and exit code
        self.print_usage(sys.stderr)
        sys.stderr.write(f"pumpctl: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pumpctl",
        description="Host tools for the insulin pump firmware: run scenarios on the emulated "
        "board, replay traces, flash and monitor boards.",
    )
    parser.add_argument("--version", action="version", version=f"pumpctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except PumpctlError as e:
        sys.stderr.write(f"pumpctl: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("pumpctl: interrupted\n")
        return 130
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """stdout's reader closed early (`pumpctl replay --json | head`): stop quietly like Unix tools.

    Pointing stdout at /dev/null keeps the interpreter's final flush from raising again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
