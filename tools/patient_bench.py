"""make patient-bench: the glucose cost of line faults on the 30 virtual patients.

Prints the three-way table (this firmware / a commercial-latency occlusion alarm / no
detection until the next set change), the cohort's baseline day, and the validation lines
against Klonoff et al. 2024 and Sherr et al. 2014. Tasks run in a process pool, one
patient-fault-seed run per task (docs/patients.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "host"), str(ROOT / "firmware")]

from pumpctl.patient import bench  # noqa: E402
from pumpctl.patient.params import patients  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=2, help="seeds per patient and fault (2)")
    ap.add_argument("--patients", help="comma-separated names (default: all 30)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, default=ROOT / "build" / "patient-bench.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "build" / "patient-bench.png")
    ap.add_argument("--report", type=Path, metavar="JSON",
                    help="print the report of an earlier run's results instead of running")
    args = ap.parse_args()
    if args.report is not None:
        report(json.loads(args.report.read_text()), args.plot)
        return 0
    names = args.patients.split(",") if args.patients else None
    for name in names or []:
        if name not in patients():
            ap.error(f"--patients: unknown virtual patient {name!r}")
    if args.seeds < 1 or args.workers < 1:
        ap.error("--seeds and --workers must be at least 1")
    todo = bench.tasks(args.seeds, names)
    print(f"Patient bench: {len(todo)} tasks ({len(names or patients())} patients, "
          f"{args.seeds} seed(s), faults {', '.join(bench.FAULTS)}; each fault run "
          f"{bench.HORIZON_H} h past its onset), {args.workers} worker(s)", flush=True)
    started = time.perf_counter()
    results = []
    with Pool(args.workers) as pool:
        for result in pool.imap_unordered(bench.run_task, todo):
            results.append(result)
            done = len(results)
            elapsed = time.perf_counter() - started
            sys.stderr.write(f"\r  {done}/{len(todo)} tasks, {elapsed:.0f} s, about "
                             f"{elapsed / done * (len(todo) - done):.0f} s left   ")
            sys.stderr.flush()
    sys.stderr.write("\n")
    results.sort(key=lambda r: json.dumps(r, sort_keys=True))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    report(results, args.plot)
    print(f"\nResults in {args.json}, plot in {args.plot}; wall time "
          f"{time.perf_counter() - started:.0f} s")
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
    plot.parent.mkdir(parents=True, exist_ok=True)
    bench.plot(rows, plot)


if __name__ == "__main__":
    sys.exit(main())
