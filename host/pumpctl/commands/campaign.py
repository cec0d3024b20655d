"""`pumpctl campaign replay DIR`: long jobs as Dask campaigns (docs/campaigns.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pumpctl import campaign_args, replaycampaign


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaign", help="run many independent jobs on a Dask cluster",
                       description="Campaigns of independent, deterministic tasks on a local "
                       "Dask cluster or an existing one; results stream into a CSV file, so a "
                       "campaign resumes where it stopped (docs/campaigns.md).")
    csub = p.add_subparsers(dest="campaign_command", metavar="ACTION")
    csub.required = True
    r = csub.add_parser(
        "replay",
        help="replay every trace in a directory; tabulate detections and false alarms",
        description="Replay every trace file (pumptrace/1) directly in DIR into the real "
        "firmware, one task per trace, and print per trace the faults detected, their latency "
        "and the false alarms, then the totals per fault label. Each trace's summary is the "
        "object `pumpctl replay --json` prints (docs/trace-format.md).",
    )
    r.add_argument("dir", type=Path, metavar="DIR", help="directory of trace files")
    r.add_argument("--json", action="store_true",
                   help='print {"traces": [replay summaries], "totals": {...}} as one object')
    r.add_argument("--cpython", action="store_true", help="run under CPython, not the Unix port")
    campaign_args.add_arguments(r, Path("build") / "replay-campaign.csv")
    r.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    tasks = replaycampaign.tasks(replaycampaign.find_traces(args.dir), args.cpython)
    res = campaign_args.run_or_collect(args, tasks, replaycampaign.replay_one, "replay")
    if res is None:
        return 1
    summaries = res.outcomes()
    if args.json:
        json.dump({"traces": summaries, "totals": replaycampaign.totals(summaries)}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(replaycampaign.render(summaries))
    return 0
