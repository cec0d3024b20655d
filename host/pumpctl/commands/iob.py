"""`pumpctl iob`: insulin on board from doses, on the firmware's own action curve."""

from __future__ import annotations

import argparse
import json
import sys

from pumpctl import therapy
from pumpctl.errors import UsageError


def minute(text: str) -> int | float:
    """A minute for --at: kept an int when it is one (so the JSON says 90, not 90.0)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, got {text!r}") from None
    return int(value) if value.is_integer() else value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "iob",
        help="insulin on board at given minutes after doses (the firmware's curve)",
        description="Insulin on board on the exponential action curve of oref0 / Loop / "
        "AndroidAPS, computed by the firmware's own integer code (pump/actioncurve.py). "
        "Presets: rapid-acting --dia-min 360 --peak-min 75, ultra-rapid 360 / 55. With --port, "
        "the insulin on board a live pump reports now.",
    )
    p.add_argument("--dia-min", type=int, metavar="D", help="duration of action, 300..600 min")
    p.add_argument("--peak-min", type=int, metavar="P", help="peak of activity, 35..120 min")
    p.add_argument("--delay-min", type=int, default=0, metavar="X",
                   help="absorption delay before the curve starts, 0..30 min (default 0)")
    p.add_argument("--dose", action="append", default=[], metavar="U@MIN",
                   help="a dose of U units at minute MIN (repeat for more)")
    p.add_argument("--at", action="append", type=minute, default=[], metavar="MIN",
                   help="a minute to report insulin on board at (repeat for more)")
    p.add_argument("--port", help="read the insulin on board of a live pump instead")
    p.add_argument("--json", action="store_true", help='print {"points": [{"at_min", "iob_u"}]}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.port:
        if args.dose or args.at:
            raise UsageError("--port reads the pump's own doses: no --dose or --at with it")
        status = therapy.live_status(args.port)
        points = [{"at_min": 0, "iob_u": status["iob_mu"] / 1000}]
        note = f"live pump {args.port}, now"
    else:
        if args.dia_min is None or args.peak_min is None:
            raise UsageError("--dia-min and --peak-min are needed (or --port)")
        if not args.dose or not args.at:
            raise UsageError("give at least one --dose U@MIN and one --at MIN")
        curve = therapy.curve(args.dia_min, args.peak_min, args.delay_min)
        doses = [therapy.parse_dose(text) for text in args.dose]
        points = therapy.iob_points(curve, doses, args.at)
        note = f"dia {args.dia_min} min, peak {args.peak_min} min, delay {args.delay_min} min"
    if args.json:
        json.dump({"points": points}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(note)
    for point in points:
        print(f"  at {point['at_min']:g} min: {point['iob_u']:.3f} U on board")
    return 0
