"""`pumpctl wizard`: the bolus calculator's proposal, by the firmware's own code."""

from __future__ import annotations

import argparse
import json
import sys

from pumpctl import therapy
from pumpctl.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "wizard",
        help="the bolus calculator's proposal for carbs and a BG (the firmware's rules)",
        description="Propose a bolus with the Bolus Wizard rules the pump uses (pump/wizard.py): "
        "food = carbs / carb ratio; correction above the target range (BG - high) / ISF, below "
        "it (BG - low) / ISF, 0 inside; insulin on board reduces only a positive correction; "
        "rounded down to the step; capped at max bolus; none below the minimum BG. With --port, "
        "the insulin on board comes from a live pump. Nothing is delivered.",
    )
    p.add_argument("--carbs", type=int, required=True, metavar="G", help="carbohydrates, grams")
    p.add_argument("--bg", type=int, default=0, metavar="MGDL",
                   help="blood glucose, mg/dL (none: no correction)")
    p.add_argument("--cr", type=float, required=True, metavar="G_PER_U",
                   help="carb ratio, grams per unit (one decimal)")
    p.add_argument("--isf", type=int, required=True, metavar="MGDL_PER_U",
                   help="insulin sensitivity, mg/dL per unit")
    p.add_argument("--target-low", type=int, required=True, metavar="MGDL")
    p.add_argument("--target-high", type=int, required=True, metavar="MGDL")
    p.add_argument("--iob", type=float, metavar="U", help="insulin on board (default 0)")
    p.add_argument("--step", type=float, default=0.05, metavar="U",
                   help="bolus step to round down to (default 0.05 U, one pulse)")
    p.add_argument("--max-bolus", type=float, default=10, metavar="U",
                   help="max bolus (default 10 U)")
    p.add_argument("--min-bg", type=int, default=70, metavar="MGDL",
                   help="no proposal below this BG (default 70, 50..90)")
    p.add_argument("--port", help="take the insulin on board from a live pump")
    p.add_argument("--json", action="store_true",
                   help='print {"food_u", "correction_u", "iob_u", "suggested_u", "capped", '
                   '"refused", "reason"}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    iob = args.iob or 0.0
    if args.port:
        if args.iob is not None:
            raise UsageError("--port reads the pump's insulin on board: no --iob with it")
        iob = max(0, therapy.live_status(args.port)["iob_mu"]) / 1000
    p = therapy.proposal(args.carbs, args.bg, args.cr, args.isf, args.target_low,
                         args.target_high, iob, args.step, args.max_bolus, args.min_bg)
    if args.json:
        json.dump(therapy.proposal_json(p), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(therapy.proposal_text(p, args.step, args.max_bolus))
    return 0
