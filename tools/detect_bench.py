"""make detect-bench: detection latency, missed insulin and false alarms, with anchors.

    python tools/detect_bench.py [--quick] [--runs N] [--days D] [--workers W]

Prints one table (time from onset to alarm, in pulses and minutes, median / max,
and the insulin pushed meanwhile), the false alarms over a nominal corpus, the
OCC-2 unintended bolus, and the commercial figures of docs/anchors/ beside them.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "firmware"), str(ROOT / "host")]

from pumpctl import detectbench  # noqa: E402


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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small profile (CI): 5 runs, 20 days")
    ap.add_argument("--runs", type=int, help="runs per cell (default 30, quick 5)")
    ap.add_argument("--days", type=int, help="nominal days (default 1000, quick 20)")
    ap.add_argument("--fw-runs", type=int,
                    help="whole-firmware runs per cell (default 5, quick 1; 0 to skip)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    runs = args.runs if args.runs is not None else (5 if args.quick else 30)
    days = args.days if args.days is not None else (20 if args.quick else 1000)
    t0 = time.perf_counter()
    head = ["fault", "condition", "detected", "pulses med/max", "minutes med/max",
            "missed U med/max", "target pulses"]
    if runs:
        rows = detectbench.evaluate(runs)
        print(f"Detection on the plant model ({runs} sampled plants per cell, random onset; "
              "detectors + plant, reference pulse schedule):\n")
        print(table([r.cells() for r in rows], head))
    fw_runs = args.fw_runs if args.fw_runs is not None else (1 if args.quick else 5)
    if fw_runs:
        rows = detectbench.evaluate_firmware(fw_runs)
        print(f"\nThe same through the whole firmware ({fw_runs} plants per cell: the app on the "
              "emulated board, CPython, closed loop with the plant):\n")
        print(table([r.cells() for r in rows], head))
    relief, none = detectbench.occ2_release(max(5, runs // 3))
    sys.stdout.flush()
    print(f"\nOCC-2: insulin released when an occlusion clears 10 min after the alarm "
          f"(1 U/h, {len(relief)} plants): with back-off max {max(relief) / 10000:.3f} U, "
          f"without max {max(none) / 10000:.3f} U (one pulse = 0.050 U)")
    if days:
        n, found = detectbench.false_alarms(days, workers=args.workers)
        print(f"\nFalse alarms: {n} in {days} simulated nominal days on sampled plants "
              f"({n / days:.4f} per day; target 0 in 1000)")
        for seed, alarms in found[:10]:
            print(f"  day seed {seed}: {alarms}")
    print("\nCommercial anchors (time to occlusion alarm; docs/anchors/, sources there):\n")
    print(anchors())
    print("\nDisconnect: commercial pumps do not detect it (Herrero et al., JDST 2012); research "
          "detectors using CGM take about 200 min (docs/anchors/disconnect_detection.csv).")
    print(f"\nbench wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
