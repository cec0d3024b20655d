"""`make bench-mcu`: the firmware on the emulated Cortex-M3, measured by QEMU's instruction count.

    python tools/bench_mcu.py [--scenario S] [--long-scenario L] [--no-heap-search]

1. Instructions per control tick of the firmware alone, over SCENARIO (default: the default
   day): tools/mcu_tickprobe.py runs ON the board (MicroPython qemu port, MPS2-AN385, firmware
   frozen in flash) under `qemu-system-arm -icount shift=0`, where 1 instruction = 1 ns of the
   board's clock, and times every scheduler step with time.ticks_us (1 us = 1000 instructions;
   the same figures on a loaded and an idle host). Emulated hardware (plant model, virtual
   clock, flash store) is timed apart and taken out, with the timing wrapper's own cost; the
   emulated world's "scenario" task is not firmware. A control tick is a control-task step plus
   the firmware's other steps until the next one. Prints mean and worst per task and the line
   `control tick instructions: mean N, max M`.
2. Heap, from the whole 72 h run (LONG, default scenarios/three_days.json) at 64 KB: held
   after boot by the app and by the emulated hardware, the high-water mark and the live peak.
3. The smallest heap (4 KB steps) that completes LONG: a heap whose usable size is below the
   live peak measured at 64 KB cannot complete it, so the first heap above runs next (4 KB
   more each time it fails). Each whole run costs about 14 CPU minutes (the board runs 50 to
   200 times faster than real time); heap builds are cached in build/mcu/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pumpctl.errors import PumpctlError
from pumpctl.mcu.build import Builder, parse_heap
from pumpctl.mcu.qemu import Board, BoardError
from pumpctl.mcu.run import run_scenario

REPO = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "mcu_tickprobe.py"
PROBE_HEAP = "140K"  # the probe script is compiled on the board: room for it
TARGET_KB = 64
STEP_KB = 4
SEARCH_KB = (32, 140)
TICK_MEAN_TARGET = 48000  # issue 14: 1 % of a 48 MHz Cortex-M0+ class CPU at 10 ticks/s
TICK_MAX_TARGET = 480000
US = 1000  # instructions per us of the board's clock (-icount shift=0)


def clock(ms: int) -> str:
    """Virtual time as h:mm:ss.s, to find a tick in the scenario's event log."""
    return f"{ms // 3600000}:{ms // 60000 % 60:02}:{ms % 60000 / 1000:04.1f}"


def log(message: str) -> None:
    print(f"bench-mcu: {message}", file=sys.stderr, flush=True)


def tick_probe(builder: Builder, raw: dict) -> dict:
    """Run the probe on the board through ``raw``; its report (see mcu_tickprobe.py)."""
    image = builder.image(parse_heap(PROBE_HEAP))
    payload = json.dumps(raw).encode()
    code = PROBE.read_text() + f"\nprobe({len(payload)})\n"
    lines: list[str] = []
    partial = [b""]

    def sink(data: bytes) -> None:
        chunks = (partial[0] + data).split(b"\n")
        partial[0] = chunks.pop()
        for line in chunks:
            text = line.decode().strip()
            if text.startswith("at "):
                hours = int(text.split()[1]) // 3600000
                log(f"tick probe: {hours} h virtual")
            elif text:
                lines.append(text)

    with Board(image) as board:
        board.enter_raw_repl()
        board.exec_streaming(code, sink, stdin=payload)
    for line in lines:
        if line.startswith("probe "):
            return json.loads(line[len("probe ") :])
    raise BoardError("the tick probe printed no report:\n" + "\n".join(lines[-10:]))


def completes(builder: Builder, raw: dict, heap_kb: int) -> dict | None:
    """The board's heap report when ``raw`` runs to its end with ``heap_kb`` KB, else None."""
    started = time.perf_counter()
    try:
        run = run_scenario(raw, heap_kb * 1024, builder)
    except BoardError as e:
        log(f"{heap_kb} KB, {raw['duration']} h: fails ({str(e).splitlines()[-1]})")
        return None
    wall = time.perf_counter() - started
    last = run.events.decode().splitlines()[-1].split(" ")
    ok = len(last) > 1 and last[1] == "end"
    log(f"{heap_kb} KB, {raw['duration']} h: {'completes' if ok else 'ends early'} ({wall:.0f} s)")
    return run.heap if ok else None


def usable(heap_kb: int, at_target: dict) -> int:
    """Bytes a ``heap_kb`` build can hand out: MicroPython takes its allocation tables from
    the heap in proportion to its size, so the target build's share scales."""
    return heap_kb * 1024 * at_target["total"] // (TARGET_KB * 1024)


def smallest_heap(builder: Builder, raw: dict) -> tuple[int | None, dict, dict]:
    """Smallest heap (KB, a multiple of STEP_KB) completing ``raw``, that run's heap report,
    and the report of the run at TARGET_KB (None, {}, {} when none up to SEARCH_KB does).

    The whole run at TARGET_KB first: its live peak (base + high: sampled after a
    collection, so live objects only, a lower bound of the true peak) tells which heaps
    cannot complete, since a heap whose usable size is below it cannot hold what the run
    keeps at once. The first heap above it runs next, STEP_KB more each time it fails
    (fragmentation); a heap that completes with the one below it proven short is the
    answer, at the cost of one or two whole runs instead of a bisection."""
    at_target = completes(builder, raw, TARGET_KB)
    if at_target is None:
        heap = TARGET_KB + STEP_KB
        while heap <= SEARCH_KB[1]:
            report = completes(builder, raw, heap)
            if report is not None:
                return heap, report, {}
            heap += STEP_KB
        return None, {}, {}
    peak = at_target["base"] + at_target["high"]
    heap = SEARCH_KB[0]
    while usable(heap, at_target) < peak:
        heap += STEP_KB
    log(
        f"live peak {peak:,} B at {TARGET_KB} KB: {heap - STEP_KB} KB"
        f" ({usable(heap - STEP_KB, at_target):,} B usable) cannot hold it; trying {heap} KB"
    )
    while heap < TARGET_KB:
        report = completes(builder, raw, heap)
        if report is not None:
            return heap, report, at_target
        heap += STEP_KB  # the live peak fits but not in one piece (fragmentation)
    return TARGET_KB, at_target, at_target


def kilo(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def target(value: float, limit: int) -> str:
    """``value`` against its issue-14 target (``limit`` 0: none at all)."""
    verdict = "met" if value <= limit else "not met"
    if not limit:
        return f"issue 14 target 0: {verdict}"
    return f"issue 14 target <= {limit:,}: {value / limit:.2f}x, {verdict}"


def print_ticks(report: dict, name: str, wall: float) -> None:
    region = report.get("region_ns", 0)
    hours = report["virtual_ms"] / 3600000
    print(
        f"Cortex-M3 (MicroPython qemu port, MPS2-AN385, firmware frozen in flash), "
        f"QEMU -icount shift=0: {name}, {hours:g} h virtual in {wall:.0f} s"
    )
    print(
        f"  firmware instructions per step (emulated hardware taken out; timer resolution "
        f"{US} instructions; timing wrapper {report['overhead_ns']} per hardware call, an empty"
        f" timed region {region})"
    )
    overhead = report["overhead_ns"]
    quiet = {row[0]: row[1:] for row in report.get("quiet_steps", [])}
    max_at = dict(report.get("task_max_at_ms", []))
    print(
        f"  {'task':<12} {'runs':>9} {'mean':>9} {'max':>9} {'max at':>10}"
        f"   quiet runs: allocating, bytes"
    )
    for task, runs, raw_us, calls, worst in report["tasks"]:
        mean = (raw_us * US - calls * overhead - runs * region) / runs if runs else 0
        world = "  (emulated world, not firmware)" if task == "scenario" else ""
        q = quiet.get(task)
        alloc = f"   {q[0]}: {q[1]}, {q[2]} B" if q else ""
        at = clock(max_at[task]) if task in max_at else "-"
        print(f"  {task:<12} {runs:>9} {mean:>9.0f} {worst:>9} {at:>10}{alloc}{world}")
    ticks = report["control_ticks"]
    total = (
        report["tick_raw_us"] * US - report["tick_calls"] * overhead
        - report.get("tick_steps", 0) * region
    )  # fmt: skip
    mean = total / ticks if ticks else 0
    print(f"  {ticks} control ticks (a control step and the other firmware steps until the next)")
    idle = report.get("idle")
    if idle:
        calls, idle_us, collections, worst_us = idle
        print(
            f"  idle time (pump.idlegc, between steps, not in any tick): {calls} calls,"
            f" {collections} collections, {(idle_us * US - calls * region) / max(ticks, 1):.0f}"
            f" instructions per control tick in all, the longest call {worst_us * US - region}"
        )
    else:
        print("  no idle collector: the allocator collects inside whatever step allocates")
    worst_at = report.get("tick_max_at_ms")
    where = f" (the tick at {clock(worst_at)} virtual)" if worst_at is not None else ""
    print(f"control tick instructions: mean {mean:.0f}, max {report['tick_max_ns']}{where}")
    print(f"  mean: {target(mean, TICK_MEAN_TARGET)}")
    print(f"  max: {target(report['tick_max_ns'], TICK_MAX_TARGET)}")
    if "quiet_ticks" in report:
        q_ticks = max(report["quiet_ticks"], 1)
        print(
            f"bytes left per quiet control tick (garbage, what makes the collector run):"
            f" mean {report['quiet_tick_kept'] / q_ticks:.2f}"
            f" ({report['quiet_ticks_kept']} of {report['quiet_ticks']} quiet ticks left any)"
        )
        print(f"  {target(report['quiet_ticks_kept'], 0)}")
        if "event_ticks" in report:
            print(
                f"  ticks that wrote events: {report['event_ticks']}, leaving"
                f" {report['event_tick_kept']:,} B in all (what the idle collector collects)"
            )
        print(
            f"  bytes asked for and given back in the same tick (frames of bytecode functions"
            f" with more than 11 slots): mean {report['quiet_tick_bytes'] / q_ticks:.1f},"
            f" max {report['quiet_tick_max_bytes']}"
            f" ({report['quiet_ticks_asking']} of {report['quiet_ticks']} quiet ticks)"
        )


def print_heap(heap_kb: int | None, report: dict, name: str, at_target: dict) -> None:
    if at_target:
        print(
            f"the whole {name} at {TARGET_KB} KB: completes; held after boot by the app"
            f" {kilo(at_target['app'])}, by the emulated hardware {kilo(at_target['hw'])}, by"
            f" the scenario {kilo(at_target['scenario'])}; high-water {kilo(at_target['high'])}"
            f" (live peak with the REPL's own {kilo(at_target['base'] + at_target['high'])}"
            f" of {kilo(at_target['total'])} usable)"
        )
    if heap_kb is None:
        print(f"smallest heap completing {name}: none up to {SEARCH_KB[1]} KB")
        return
    print(
        f"smallest heap completing {name}: {heap_kb} KB"
        f" (target {TARGET_KB} KB: {heap_kb / TARGET_KB:.2f}x)"
        + (f"; {heap_kb - STEP_KB} KB cannot hold the live peak" if at_target else "")
    )
    if report and report is not at_target:
        print(
            f"  at {heap_kb} KB: held after boot by the app {kilo(report['app'])}, by the emulated"
            f" hardware {kilo(report['hw'])}, by the scenario {kilo(report['scenario'])};"
            f" high-water {kilo(report['high'])}; at the end {kilo(report['end'])}"
            f" (of {kilo(report['total'])} usable)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "default.json")
    parser.add_argument(
        "--long-scenario", type=Path, default=REPO / "scenarios" / "three_days.json"
    )
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument(
        "--no-heap-search", action="store_true", help="only the instruction figures"
    )
    parts.add_argument(
        "--no-ticks", action="store_true",
        help="only the heap search (run it beside a --no-heap-search run on another core)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        builder = Builder(log=log)
        if not args.no_ticks:
            raw = json.loads(args.scenario.read_text())
            started = time.perf_counter()
            report = tick_probe(builder, raw)
            print_ticks(report, args.scenario.name, time.perf_counter() - started)
            sys.stdout.flush()
        if not args.no_heap_search:
            long_raw = json.loads(args.long_scenario.read_text())
            heap, heap_report, at_target = smallest_heap(builder, long_raw)
            print_heap(heap, heap_report, args.long_scenario.name, at_target)
    except PumpctlError as e:
        print(f"bench-mcu: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
