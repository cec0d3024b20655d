"""The command-line face of a campaign: the same options and the same failure report for
`make detect-bench`, `make fuzz` and `pumpctl campaign replay` (docs/campaigns.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pumpctl.campaign import CampaignResults, collect, run_campaign, stop_on_sigterm
from pumpctl.errors import PumpctlError, UsageError


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--workers: expected a whole number >= 1, got {text!r}")
    return n


def _scheduler(text: str) -> str:
    if not text.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")) and ":" in text:
        text = "tcp://" + text  # host:port, as `dask scheduler` prints it without the scheme
    if ":" not in text.split("://", 1)[-1]:
        raise argparse.ArgumentTypeError(f"--scheduler: expected tcp://HOST:PORT, got {text!r}")
    return text


def add_arguments(ap: argparse.ArgumentParser, default_results: Path) -> None:
    g = ap.add_argument_group("campaign (docs/campaigns.md)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, metavar="N",
                       help="worker processes of a local Dask cluster (default: this "
                       "machine's cores)")
    where.add_argument("--scheduler", type=_scheduler, metavar="tcp://HOST:PORT",
                       help="run on an existing Dask cluster (its workers need the project's "
                       "venv at the same commit)")
    g.add_argument("--results", type=Path, default=default_results, metavar="FILE",
                   help=f"results file (CSV, one row per task; default {default_results}); "
                   "finished tasks found there are not run again")
    g.add_argument("--tabulate", action="store_true",
                   help="print the tables from --results alone, running nothing")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar on stderr")


def run_or_collect(args: argparse.Namespace, tasks: Sequence[dict], fn: Callable,
                   label: str) -> CampaignResults | None:
    """The campaign's results, or None (after saying why on stderr) if some task has none."""
    if args.tabulate:
        res = collect(tasks, fn, args.results)
        if res.missing:
            raise UsageError(f"{args.results}: {len(res.missing)} of {len(tasks)} tasks have no "
                             "result yet (run without --tabulate to run them)")
        if res.stale:
            sys.stderr.write(f"{label}: note: {res.stale} results were computed from other "
                             "firmware/host sources than this checkout's\n")
    else:
        res = run_campaign(tasks, fn, args.results, workers=args.workers,
                           scheduler=args.scheduler, label=label, progress=args.progress)
        if res.ran and args.progress:
            sys.stderr.write(f"{label}: {res.ran} tasks run in {res.wall_s:.0f} s wall; "
                             f"{cost(res):.0f} CPU s on the workers for all {len(tasks)}\n")
    if res.failed:
        res.report_failures()
        sys.stderr.write(f"\n{label}: {len(res.failed)} of {len(tasks)} tasks failed (above, "
                         f"and in {args.results}); the others are kept: fix and run again\n")
        return None
    return res


def cost(res: CampaignResults) -> float:
    """CPU seconds the workers spent on every task of the campaign (from the results file)."""
    return sum(r.cpu_s for r in res.results)


def guarded(main: Callable[[], int], prog: str) -> int:
    """Run a tool's main: a PumpctlError is one clear line on stderr, never a traceback;
    Ctrl-C or SIGTERM stops it with the finished tasks kept (exit status 130)."""
    try:
        with stop_on_sigterm():
            return main()
    except PumpctlError as e:
        sys.stderr.write(f"{prog}: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: stopped; every finished task is kept in the results file "
                         "(run the same command again to go on from there)\n")
        return 130
