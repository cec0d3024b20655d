"""make patient-bench: the glucose cost of line faults on the 30 virtual patients.

    python tools/patient_bench.py [--seeds N] [--patients A,B] [--plot FILE]
                                  [--workers W | --scheduler tcp://HOST:PORT]
                                  [--results FILE] [--tabulate [--partial]]

Prints the three-way table (this firmware / a commercial-latency occlusion alarm / no
detection until the next set change), the cohort's baseline day, and the validation lines
against Klonoff et al. 2024 and Sherr et al. 2014 (docs/patients.md). Every
patient-fault-seed run is one task of a campaign (docs/campaigns.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "firmware"), str(ROOT / "host")]

from pumpctl import campaign_args  # noqa: E402
from pumpctl.campaign import collect  # noqa: E402
from pumpctl.patient import bench  # noqa: E402
from pumpctl.patient.params import patients  # noqa: E402

REPO_RESULTS = ROOT / "build" / "patient-bench.csv"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Every run is one task of a campaign (docs/campaigns.md): results stream into "
        "--results, a re-run skips the finished tasks, --tabulate prints from the file alone.")
    ap.add_argument("--seeds", type=int, default=1,
                    help="seeds per patient and fault (default 1, about 15 CPU-min; the "
                    "README's full run is --seeds 3, about 39 CPU-min)")
    ap.add_argument("--patients", help="comma-separated names (default: all 30)")
    ap.add_argument("--plot", type=Path, default=ROOT / "build" / "patient-bench.png",
                    help="box plot of hours above 250 and peaks (default build/patient-bench.png)")
    campaign_args.add_arguments(ap, REPO_RESULTS)
    ap.add_argument("--partial", action="store_true",
                    help="with --tabulate: report the tasks that have finished (a run cut "
                    "short); every table says how many runs it holds")
    args = ap.parse_args()
    if args.partial and not args.tabulate:
        ap.error("--partial: only with --tabulate")
    names = args.patients.split(",") if args.patients else None
    for name in names or []:
        if name not in patients():
            ap.error(f"--patients: unknown virtual patient {name!r}")
    if args.seeds < 1:
        ap.error(f"--seeds: expected at least 1, got {args.seeds}")
    todo = bench.tasks(args.seeds, names)
    print(f"Patient bench: {len(todo)} tasks ({len(names or patients())} patients, "
          f"{args.seeds} seed(s), faults {', '.join(bench.FAULTS)}; each fault run "
          f"{bench.HORIZON_H} h past its onset)", flush=True)
    t0 = time.perf_counter()
    if args.partial:
        res = collect(todo, bench.run_task, args.results)
        print(f"PARTIAL: {len(todo) - len(res.missing)} of {len(todo)} tasks have finished "
              f"in {args.results}")
    else:
        res = campaign_args.run_or_collect(args, todo, bench.run_task, "patient-bench")
        if res is None:
            return 1
    report([o for o in res.outcomes() if o is not None], args.plot)
    print(f"\nbench wall time {time.perf_counter() - t0:.0f} s ({res.ran} tasks run, "
          f"{res.skipped} taken from {args.results}; {campaign_args.cost(res):.0f} CPU s on "
          f"the workers for them); plot in {args.plot}")
    return 0


def report(results: list[dict], plot: Path) -> None:
    rows = bench.fault_rows(results)
    print()
    print(bench.render_faults(rows))
    print()
    print(bench.render_ratio(rows))
    print()
    print(bench.render_baseline(results))
    print()
    print(bench.render_validation(results))
    print("\nThe same on the patient model alone (the pump's basal straight into the depot, "
          "none while interrupted; all 30 patients):")
    print(bench.render_validation(bench.model_only_validation()))
    plot.parent.mkdir(parents=True, exist_ok=True)
    bench.plot(rows, plot)


if __name__ == "__main__":
    sys.exit(campaign_args.guarded(main, "patient-bench"))
