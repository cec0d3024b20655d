"""`pumpctl sim`: a virtual patient (UVA/Padova, simglucose's 30) wearing the pump's firmware."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pumpctl.errors import UsageError
from pumpctl.patient import agp, metrics, therapy
from pumpctl.patient.params import patient
from pumpctl.patient.sim import Config, Simulation, fault_outcomes
from pumpctl.patient.spec import (
    DEFAULT_RESPONSE_MIN,
    SpecError,
    check_days,
    check_patient,
    format_time,
    load_meals,
    parse_fault,
)

SAMPLE_MIN = 5  # metrics on the glucose every 5 minutes, as a CGM report would


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="a virtual patient wearing the pump: glucose metrics, faults and what they cost",
        description="Co-simulate one of simglucose's 30 UVA/Padova virtual patients with the "
        "firmware on the emulated board (MicroPython Unix port), in virtual time: the patient's "
        "CGM reading goes to the pump every 5 min, meals are bolused for with the pump's own "
        "calculator (the patient's carb ratio, correction 1800/TDI, insulin on board), and only "
        "the insulin the infusion line lets through reaches the patient. Prints the consensus "
        "glucose metrics and, per fault, when it was detected and fixed, hours above 250 mg/dL "
        "and the peak. Times are [DAYd]HH:MM since the start (midnight of day 0). See "
        "docs/patients.md.",
    )
    p.add_argument("--patient", default="adult#001", metavar="NAME",
                   help="adolescent#001..#010, adult#001..#010, child#001..#010 "
                   "(default adult#001)")
    p.add_argument("--days", type=float, default=1.0, metavar="N",
                   help="length of the run in days (default 1)")
    p.add_argument("--meals", type=Path, metavar="FILE",
                   help="meals and the user's response time (pumpmeals/1 JSON); default 45, 70 "
                   "and 80 g at 07:00, 12:00 and 18:00 every day per kg of body weight at the "
                   "adults' mean weight (86 kg), response 15 min")
    p.add_argument("--fault", action="append", default=[], metavar="KIND@[DAYd]HH:MM",
                   help="inject a line fault: occlusion, disconnect or leak (50 %%), e.g. "
                   "occlusion@1d03:10; repeatable")
    p.add_argument("--seed", type=int, default=1, metavar="N",
                   help="seed of the CGM noise and the infusion-line plant (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--plot", type=Path, metavar="FILE",
                   help="write an AGP-style percentile plot (.png, .svg or .pdf)")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> Config:
    """Every flag checked before anything runs; errors name the flag and the value."""
    try:
        name = check_patient(args.patient)
        minutes = check_days(args.days)
        if args.meals is not None:
            meals, response = load_meals(args.meals, minutes)
        else:
            meals, response = therapy.meals(patient(name), minutes), DEFAULT_RESPONSE_MIN
        faults = [parse_fault(text, minutes) for text in args.fault]
    except SpecError as e:
        raise UsageError(str(e)) from None
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed: expected an integer in 0..4294967295, got {args.seed}")
    if args.plot is not None:
        agp.check_path(args.plot)
    return Config(patient(name), minutes, meals, faults, seed=args.seed,
                  response_min=response, interpreter="unix")


def _progress(total: int):
    if not sys.stderr.isatty():
        return None

    def show(minute: int) -> None:
        sys.stderr.write(f"\r  simulated {format_time(minute)} of {format_time(total)} ")
        sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    started = time.perf_counter()
    result = Simulation(config).run(progress=_progress(config.minutes))
    wall = time.perf_counter() - started
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 60 + "\r")
    m = metrics.compute(result.glucose_every(SAMPLE_MIN), SAMPLE_MIN)
    outcomes = fault_outcomes(result)
    if args.plot is not None:
        marks = [(o.onset_min, o.kind) for o in outcomes]
        marks += [(o.alarm_min, "alarm") for o in outcomes if o.alarm_min is not None]
        agp.plot(result.glucose, args.plot, config.patient.name, marks)
    if args.json:
        json.dump({
            "patient": config.patient.name, "days": config.minutes / 1440, "seed": config.seed,
            "metrics": m.to_json(),
            "delivered_u": round(result.delivered_u, 3), "spilled_u": round(result.spilled_u, 3),
            "faults": [{"kind": o.kind, "onset": format_time(o.onset_min),
                        "alarm": None if o.alarm_min is None else format_time(o.alarm_min),
                        "fixed": None if o.fixed_min is None else format_time(o.fixed_min),
                        "hours_above_250": round(o.hours_above_250, 2),
                        "peak_mgdl": round(o.peak, 1)} for o in outcomes],
            "actions": [[format_time(t), note] for t, note in result.actions],
        }, sys.stdout)
        sys.stdout.write("\n")
        return 0
    p = config.patient
    print(f"Virtual patient {p.name}: {config.minutes / 1440:g} days, seed {config.seed}, "
          f"firmware on the MicroPython Unix port")
    s = therapy.settings_for(p)
    print(f"  therapy: {s.line()}, response to alarms {config.response_min} min")
    print(f"  meals: {s.meals_line() + ' every day' if args.meals is None else args.meals}")
    print("Timeline:")
    for t, note in result.actions:
        print(f"  {format_time(t)}  {note}")
    for o in outcomes:
        alarm = "no alarm" if o.alarm_min is None else \
            f"alarm at {format_time(o.alarm_min)} (+{o.alarm_min - o.onset_min} min)"
        fixed = "never fixed" if o.fixed_min is None else f"fixed {format_time(o.fixed_min)}"
        print(f"Fault {o.kind} at {format_time(o.onset_min)}: {alarm}, {fixed}; after it "
              f"{o.hours_above_250:.1f} h above 250 mg/dL, peak {o.peak:.0f} mg/dL")
    print("Glucose (the patient's, every 5 min):")
    print(metrics.render(m))
    print(f"Insulin: {result.delivered_u:.2f} U reached the patient, {result.spilled_u:.2f} U "
          "lost at the line")
    print(f"Wall time: {wall:.1f} s")
    return 0
