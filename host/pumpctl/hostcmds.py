"""Host-tool subcommands (vboard, flash, monitor) for the ``pumpctl`` command table.

``register(sub)`` adds them to an argparse subparsers object; ``main`` runs
them standalone (``python -m pumpctl.hostcmds``) with the same error handling
as ``pumpctl``.
"""

from __future__ import annotations

import argparse
import sys

from . import vboard
from .errors import PumpctlError

MODULES = (vboard,)


def register(sub: argparse._SubParsersAction) -> None:
    for module in MODULES:
        module.add_parser(sub)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pumpctl")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PumpctlError as e:
        print(f"pumpctl: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
