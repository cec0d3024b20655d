"""`pumpctl trace gen|check`: make seeded labelled traces, validate trace files."""

from __future__ import annotations

import argparse
from pathlib import Path

from pumpctl import trace, tracegen
from pumpctl.errors import UsageError


def _time_ms(text: str) -> int:
    parts = text.split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected H:MM[:SS], got {text!r}")
    h, m, s = (int(p) for p in (parts + ["0"])[:3])
    return ((h * 60 + m) * 60 + s) * 1000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="generate or check pressure traces (pumptrace/1)")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION")
    tsub.required = True
    g = tsub.add_parser(
        "gen",
        help="write a seeded, labelled trace",
        description="Run the firmware closed loop on the plant model with one injected fault "
        "(or none) and record the trace, labelled with the ground truth.",
    )
    g.add_argument("out", type=Path, help="trace file to write (with --suite: a directory)")
    g.add_argument("--suite", action="store_true",
                   help="write a labelled set into OUT: nominal and every fault kind at 0.05, "
                   "0.1, 1, 2 and 5 U/h and the line faults during a bolus, plants sampled "
                   "from --seed")
    g.add_argument("--kind", choices=tracegen.KINDS, default="nominal")
    g.add_argument("--rate", type=float, default=1.0, help="basal rate in U/h (0.05..30)")
    g.add_argument("--hours", type=float, default=6.0, help="trace length in hours")
    g.add_argument("--onset", type=_time_ms, default="3:00", help="fault onset, H:MM[:SS]")
    g.add_argument("--clear-after", type=int, default=30, metavar="MIN",
                   help="minutes until the fault clears (default 30)")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--nominal-plant", action="store_true",
                   help="use the nominal plant parameters instead of sampling them from the seed")
    g.add_argument("--bolus", type=float, default=0.0, metavar="U",
                   help="start a bolus of U units 10 s before the onset")
    g.add_argument("--pct", type=int, help="leak: percent of the flow lost (default 50)")
    g.add_argument("--factor", type=int, help="kink: resistance factor (default 8)")
    g.add_argument("--cpython", action="store_true")
    g.set_defaults(func=run_gen)
    c = tsub.add_parser("check", help="validate a trace file and print what it holds")
    c.add_argument("trace", type=Path)
    c.set_defaults(func=run_check)


def run_suite(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    items = tracegen.suite(args.seed)
    for i, (name, scen) in enumerate(items, 1):
        tracegen.generate(args.out / name, scen, args.cpython)
        print(f"[{i}/{len(items)}] {args.out / name}")
    return 0


def run_gen(args: argparse.Namespace) -> int:
    if args.suite:
        return run_suite(args)
    if not 0.05 <= args.rate <= 30:
        raise UsageError(f"--rate {args.rate} is outside 0.05..30 U/h")
    if not 0 < args.hours <= 240:
        raise UsageError(f"--hours {args.hours} is outside 0..240")
    if args.kind != "nominal" and args.onset >= args.hours * 3600000:
        raise UsageError("--onset is after the end of the trace")
    fault_args = {}
    if args.pct is not None:
        fault_args["pct"] = args.pct
    if args.factor is not None:
        fault_args["factor"] = args.factor
    scen = tracegen.scenario(args.kind, args.rate, args.hours, args.onset, args.seed,
                             sample=not args.nominal_plant, bolus_u=args.bolus,
                             clear_after_ms=args.clear_after * 60000, fault_args=fault_args)
    tracegen.generate(args.out, scen, args.cpython)
    tr = trace.read(args.out)
    print(f"wrote {args.out}: {len(tr.t_ms)} samples, labels "
          + (", ".join(f"{label}@{t}" for t, label in tr.labels) or "none"))
    return 0


def run_check(args: argparse.Namespace) -> int:
    tr = trace.read(args.trace)
    print(f"{args.trace}: pumptrace/1, {len(tr.t_ms)} samples over "
          f"{tr.duration_ms / 3600000:.2f} h, columns {','.join(tr.columns)}, "
          f"{len(tr.labels)} labels, {len(tr.pulses_ms)} recorded pulses, "
          f"{len(tr.bg)} CGM readings")
    return 0
