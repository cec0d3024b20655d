"""make detect-bench: detection latency, missed insulin and false alarms, with anchors.

    python tools/detect_bench.py [--quick] [--first-wave] [--runs N] [--days D] [--fw-runs N]
                                 [--days-from N] [--days-prime P] [--occ2-runs N] [--snr-runs N]
                                 [--speed-runs N] [--bolus-periods MS,...] [--days-bolus-speed]
                                 [--workers W | --scheduler tcp://HOST:PORT]
                                 [--results FILE] [--tabulate]

Prints one table (time from onset to alarm, in pulses and minutes, median / max,
and the insulin pushed meanwhile), the false alarms over a nominal corpus, the
OCC-2 unintended bolus, the SNR sweep that places SEN-1's "noisy beyond use" (where the
detectors stop meeting their targets), and the commercial figures of docs/anchors/ beside
them. Plants are drawn over the widened ranges (issue 15) unless --first-wave.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "firmware"), str(ROOT / "host")]

from pumpctl import campaign_args, detectbench  # noqa: E402

REPO_RESULTS = ROOT / "build" / "detect-bench.csv"


def table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def anchors() -> str:
    path = ROOT / "docs" / "anchors" / "occlusion_time_to_alarm.csv"
    rows = []
    with path.open() as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            rows.append([row["pump"], row["condition"], row["typical"] or "-", row["max"] or "-",
                         row["unit"], row["missed_insulin_u"] or "-"])
    return table(rows, ["pump (published)", "condition", "typical", "max", "unit",
                        "missed U"])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Every run is one task of a campaign (docs/campaigns.md): results stream into "
        "--results, a re-run skips the finished tasks, --tabulate prints from the file alone.")
    ap.add_argument("--quick", action="store_true", help="small profile (CI): 5 runs, 20 days")
    ap.add_argument("--runs", type=int, help="runs per cell (default 30, quick 5)")
    ap.add_argument("--days", type=int, help="nominal days (default 1000, quick 20)")
    ap.add_argument("--days-from", type=int, default=0, metavar="N",
                    help="skip the first N nominal days of the seed sequence: days a change "
                    "was not developed on (default 0)")
    ap.add_argument("--days-prime", type=int, default=0, metavar="PULSES",
                    help="prime each nominal day with PULSES pulses a minute after boot, as "
                    "after a set change (default 0: not primed; 20 pulses = 1 U)")
    ap.add_argument("--fw-runs", type=int,
                    help="whole-firmware runs per cell (default 5, quick 1; 0 to skip)")
    ap.add_argument("--occ2-runs", type=int,
                    help="plants for the OCC-2 release figure (default: runs / 3, at least 5)")
    ap.add_argument("--snr-runs", type=int,
                    help="plants per fault, rate and SNR level in the SEN-1 sweep "
                    "(default 5, quick 1; 0 to skip)")
    ap.add_argument("--speed-runs", type=int, default=0, metavar="N",
                    help="plants per bolus cell (occlusion, leak 50%%) at each of "
                    "--bolus-periods: the bolus speed setting (default 0: not run)")
    ap.add_argument("--bolus-periods", default=",".join(map(str, detectbench.SPEED_PERIODS)),
                    metavar="MS,...",
                    help="bolus pulse periods for --speed-runs, ms per 0.05 U pulse (default "
                    "%(default)s: 5 to 0.5 U/min)")
    ap.add_argument("--days-bolus-speed", action="store_true",
                    help="each nominal day's boluses (and prime) at a bolus speed drawn from "
                    "the setting's range, 0.5 to 5 U/min, instead of 1.5 U/min")
    ap.add_argument("--first-wave", action="store_true",
                    help="draw plants over the first wave's ranges (to compare with its tables)")
    campaign_args.add_arguments(ap, REPO_RESULTS)
    args = ap.parse_args()
    runs = args.runs if args.runs is not None else (5 if args.quick else 30)
    days = args.days if args.days is not None else (20 if args.quick else 1000)
    fw_runs = args.fw_runs if args.fw_runs is not None else (1 if args.quick else 5)
    occ2 = args.occ2_runs if args.occ2_runs is not None else max(5, runs // 3)
    snr = args.snr_runs if args.snr_runs is not None else (1 if args.quick else 5)
    if args.days_from < 0:
        ap.error(f"--days-from: expected 0 or more, got {args.days_from}")
    if not 0 <= args.days_prime <= 400:
        ap.error(f"--days-prime: expected 0 to 400 pulses, got {args.days_prime}")
    if args.speed_runs < 0:
        ap.error(f"--speed-runs: expected 0 or more, got {args.speed_runs}")
    try:
        periods = tuple(int(p) for p in args.bolus_periods.split(","))
    except ValueError:
        periods = ()
    if not periods or not all(300 <= p <= 12000 for p in periods):
        ap.error(f"--bolus-periods: expected ms from 300 to 12000, got {args.bolus_periods!r}")
    plan = detectbench.Plan(runs, fw_runs, max(1, occ2), days, not args.first_wave, snr,
                            args.days_from, args.days_prime, args.speed_runs, periods,
                            args.days_bolus_speed)
    t0 = time.perf_counter()
    res = campaign_args.run_or_collect(args, plan.tasks(), detectbench.bench_task, "detect-bench")
    if res is None:
        return 1
    print(tables(plan, plan.split(res.outcomes())))
    print(f"\nbench wall time {time.perf_counter() - t0:.0f} s ({res.ran} tasks run, "
          f"{res.skipped} taken from {args.results})")
    cost: dict[str, list[float]] = {}
    for t, r in zip(plan.tasks(), res.results, strict=True):
        cost.setdefault(t["part"], []).append(r.cpu_s)
    print("CPU per task on the workers: " + ", ".join(
        f"{part} {len(c)} x {sum(c) / len(c):.1f} s" for part, c in cost.items()))
    return 0


def tables(plan: detectbench.Plan, by: dict[str, list]) -> str:
    """The whole report from the campaign's outcomes (the same for any number of workers)."""
    head = ["fault", "condition", "detected", "pulses med/max", "minutes med/max",
            "missed U med/max", "target pulses"]
    ranges = "widened" if plan.widened else "first wave's"
    out = [f"Plants drawn over the {ranges} ranges (boards/emu/plantparams.py).\n"]
    if plan.runs:
        rows = detectbench.cell_rows(plan.runs, by["cell"])
        out.append(f"Detection on the plant model ({plan.runs} sampled plants per cell, random "
                   "onset; detectors + plant, reference pulse schedule):\n")
        out.append(table([r.cells() for r in rows], head))
    if plan.fw_runs:
        rows = detectbench.cell_rows(plan.fw_runs, by["firmware"])
        out.append(f"\nThe same through the whole firmware ({plan.fw_runs} plants per cell: the "
                   "app on the emulated board, CPython, closed loop with the plant):\n")
        out.append(table([r.cells() for r in rows], head))
    relief, none = [w for w, _ in by["occ2"]], [wo for _, wo in by["occ2"]]
    out.append(f"\nOCC-2: insulin released when an occlusion clears 10 min after the alarm "
               f"(1 U/h, {len(relief)} plants): with back-off max {max(relief) / 10000:.3f} U, "
               f"without max {max(none) / 10000:.3f} U (one pulse = 0.050 U)")
    if plan.days:
        n, found = detectbench.false_alarm_count(plan.day_list(), by["day"])
        first, last = plan.days_from + 1, plan.days_from + plan.days
        which = f" (days {first} to {last} of the seed sequence)" if plan.days_from else ""
        if plan.days_prime:
            which += f", each primed with {plan.days_prime} pulses a minute after boot"
        if plan.days_bolus_speed:
            which += ", boluses at a drawn speed (0.5 to 5 U/min)"
        out.append(f"\nFalse alarms: {n} in {plan.days} simulated nominal days{which} on "
                   f"sampled plants ({n / plan.days:.4f} per day; target 0 in 1000)")
        out.extend(f"  day seed {seed}: {alarms}" + (
            f" (bolus {detectbench.day_bolus_ms(seed)} ms a pulse)" if plan.days_bolus_speed
            else "") for seed, alarms in found[:10])
    if plan.speed_runs:
        rows = detectbench.speed_rows(plan.speed_runs, plan.speed_periods, by["speed"])
        out.append(f"\nThe bolus cells at other bolus speeds ({plan.speed_runs} plants per cell, "
                   "the plants and onsets of the bolus cells of a table of as many runs; the "
                   "bolus and the prime at the period named):\n")
        out.append(table([r.cells() for r in rows], head))
    if plan.snr_runs:
        out.append(f"\nSEN-1 sweep: the detectors against bump / noise sigma ({plan.snr_runs} "
                   f"plants per fault at 0.1 and 1 U/h, SEN-1's noisy test off; targets: "
                   f"occlusion <= 3, disconnect <= 5, leak <= 10 pulses, no false alarm):\n")
        out.append(table(detectbench.snr_rows(plan.snr_runs, by["snr"]),
                         ["bump/noise", "occlusion", "disconnect", "leak 50%",
                          "false alarms", "targets met"]))
    out.append("\nCommercial anchors (time to occlusion alarm; docs/anchors/, sources there):\n")
    out.append(anchors())
    out.append("\nDisconnect: commercial pumps do not detect it (Herrero et al., JDST 2012); "
               "research detectors using CGM take about 200 min "
               "(docs/anchors/disconnect_detection.csv).")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(campaign_args.guarded(main, "detect-bench"))
