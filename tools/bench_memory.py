"""Memory benchmark on the MicroPython Unix port (make bench).

Prints, for the full firmware on the emulated board, built as the .mpy bundle
that `make build BOARD=emu` makes:
- the smallest heap (-X heapsize, 4 KB steps) that completes the 72 h scenario,
  against the 64 KB target;
- the live heap after boot;
- bytes allocated per scheduler step in steady state, per task: garbage (heap
  growth the GC must reclaim; target 0 on the control path) and gross bytes
  (micropython.mem_total, which also counts the frames the VM takes from the
  heap and frees on return for functions with more than 11 state slots);
  steps that emit an event line (telemetry) are counted apart, and so is the garbage made
  inside the emulated hardware (plant model, virtual clock: silicon on a real board).

    python tools/bench_memory.py [--scenario scenarios/three_days.json]
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build as bundle_tool  # noqa: E402

TARGET_KB = 64
STEP_KB = 4
SEARCH_KB = (32, 1024)
SEARCH_HOURS = 6  # the heap search runs this prefix; the result is confirmed on the full run
PROBE_HEAP = "256K"  # small heap: gc.mem_alloc walks the whole heap on each call
PROBE_WARMUP_MS = 3600000
PROBE_UNTIL_MS = 4 * 3600000
CONTROL_PATH = ("control", "supervisor")


def micropython() -> str:
    return str(Path(sys.executable).parent / "micropython")


def run_firmware(bundle: Path, scenario: Path, heap_kb: int | None,
                 events: Path) -> subprocess.CompletedProcess:
    """Run main.py from ``bundle`` on ``scenario``; events go to ``events``."""
    cmd = [micropython()]
    if heap_kb is not None:
        cmd += ["-X", f"heapsize={heap_kb}K"]
    cmd += ["main.py", "--events", str(events), str(scenario)]
    return subprocess.run(cmd, cwd=bundle, env={"MICROPYPATH": "."}, capture_output=True,
                          text=True)


def completes(bundle: Path, scenario: Path, heap_kb: int | None, work: Path) -> bool:
    """True when the run ends normally with its ``end`` event."""
    events = work / "events.txt"
    result = run_firmware(bundle, scenario, heap_kb, events)
    if result.returncode != 0 or not events.exists():
        return False
    lines = events.read_text().splitlines()
    return bool(lines) and lines[-1].split(" ")[1:2] == ["end"]


def prefix_scenario(scenario: Path, hours: int, dest: Path) -> Path:
    """The first ``hours`` of ``scenario`` (later actions dropped)."""
    raw = json.loads(scenario.read_text())
    limit = hours * 3600000
    raw["duration"] = f"{hours}:00"

    def at_ms(text: str) -> int:
        parts = [int(p) for p in text.split(":")] + [0]
        return ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000

    raw["actions"] = [a for a in raw.get("actions", []) if at_ms(a["at"]) < limit]
    dest.write_text(json.dumps(raw))
    return dest


def smallest_heap_kb(bundle: Path, scenario: Path, work: Path) -> int | None:
    """Smallest heap in KB (multiple of STEP_KB) that completes ``scenario``."""
    short = prefix_scenario(scenario, SEARCH_HOURS, work / "prefix.json")
    lo, hi = SEARCH_KB
    if not completes(bundle, short, hi, work):
        return None
    while hi - lo > STEP_KB:  # invariant: hi completes, lo does not (or is the floor)
        mid = (lo + hi) // 2 // STEP_KB * STEP_KB
        if completes(bundle, short, mid, work):
            hi = mid
        else:
            lo = mid
    heap = hi
    while heap <= SEARCH_KB[1] and not completes(bundle, scenario, heap, work):
        heap += STEP_KB  # the long run can need more than the prefix (fragmentation)
    return heap if heap <= SEARCH_KB[1] else None


def probe(bundle: Path, scenario: Path) -> dict:
    cmd = [micropython(), "-X", f"heapsize={PROBE_HEAP}", str(REPO / "tools" / "mem_probe.py"),
           str(scenario), str(PROBE_WARMUP_MS), str(PROBE_UNTIL_MS)]
    result = subprocess.run(cmd, cwd=bundle, env={"MICROPYPATH": "."}, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit("bench_memory: probe failed:\n" + result.stdout + result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_order(bundle: Path) -> list[str]:
    """The bundle's modules, each after the firmware modules it imports (from the sources)."""
    modules = {}
    for f in json.loads((bundle / "manifest.json").read_text())["files"]:
        if f["path"].endswith(".mpy"):
            name = f["source"][:-3].replace("/", ".").removesuffix(".__init__")
            modules[name] = bundle_tool.FIRMWARE / f["source"]
    deps = {}
    for name, src in modules.items():
        found = set()
        for node in ast.walk(ast.parse(src.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        deps[name] = sorted(d for d in found if d in modules and d != name)
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in order or name in path:
            return
        for dep in deps[name]:
            visit(dep, path + (name,))
        order.append(name)

    for name in sorted(modules):
        visit(name)
    return order


RESIDENT_SCRIPT = """
import gc
gc.collect()
last = gc.mem_alloc()
for name in NAMES:
    try:
        __import__(name)
    except ImportError:
        continue
    gc.collect()
    now = gc.mem_alloc()
    print(name, now - last)
    last = now
"""


def resident(bundle: Path, skip: tuple[str, ...]) -> list[tuple[str, int]]:
    """Heap each module keeps after import (code, qstrs, module and class objects)."""
    names = [n for n in import_order(bundle) if not n.startswith(skip)]
    script = f"NAMES = {names!r}\n{RESIDENT_SCRIPT}"
    result = subprocess.run([micropython(), "-c", script], cwd=bundle,
                            env={"MICROPYPATH": "."}, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("bench_memory: import probe failed:\n" + result.stdout + result.stderr)
    rows = [line.rsplit(" ", 1) for line in result.stdout.splitlines() if line.strip()]
    return [(name, int(size)) for name, size in rows]


def per_step(total: int, steps: int) -> str:
    return f"{total / steps:8.1f}" if steps else "       -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Memory figures of the firmware (Unix port).")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "three_days.json")
    args = parser.parse_args(argv)
    scenario = args.scenario.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle_tool.build("emu", work / "bundle", quiet=True)
        bundle = work / "bundle" / "emu"
        heap = smallest_heap_kb(bundle, scenario, work)
        report = probe(bundle, scenario)
        modules = resident(bundle, ("boards.drivers",))  # real-board drivers: not loaded on emu
    print(f"memory: full firmware, emu .mpy bundle, Unix port, {scenario.name}")
    if heap is None:
        print(f"  smallest heap completing the run: none up to {SEARCH_KB[1]} KB")
    else:
        print(f"  smallest heap completing the run: {heap} KB"
              f"  (target {TARGET_KB} KB: {heap / TARGET_KB:.2f}x)")
    print(f"  live heap after boot: {report['boot_alloc']} bytes;"
          f" after the probe: {report['end_alloc']} bytes (probe script included)")
    total = sum(size for _, size in modules)
    print(f"  resident after import: {total} bytes in {len(modules)} modules; largest:")
    for name, size in sorted(modules, key=lambda row: -row[1])[:8]:
        print(f"    {name:<24} {size:>7}")
    hours = (PROBE_UNTIL_MS - PROBE_WARMUP_MS) / 3600000
    print(f"  bytes per scheduler step, steady state ({hours:.0f} h after a"
          f" {PROBE_WARMUP_MS // 60000} min warm-up):")
    print(f"  {'task':<11} {'steps':>8} {'garbage':>8} {'max':>5} {'gross':>8}"
          f" {'events':>7} {'garbage':>8} {'gross':>8} {'emulated hw':>12}")
    print(f"  {'':<11} {'(quiet)':>8} {'/step':>8} {'':>5} {'/step':>8}"
          f" {'steps':>7} {'/event':>8} {'/event':>8} {'garbage':>12}")
    control = {"quiet": 0, "garbage": 0, "events": 0, "event_garbage": 0}
    for t in report["tasks"]:
        print(f"  {t['name']:<11} {t['quiet']:>8} {per_step(t['quiet_garbage'], t['quiet'])}"
              f" {t['quiet_garbage_max']:>5} {per_step(t['quiet_bytes'], t['quiet'])}"
              f" {t['event_steps']:>7} {per_step(t['event_garbage'], t['event_steps'])}"
              f" {per_step(t['event_bytes'], t['event_steps'])}"
              f" {t['hardware_garbage']:>12}")
        if t["name"] in CONTROL_PATH:
            control["quiet"] += t["quiet"]
            control["garbage"] += t["quiet_garbage"]
            control["events"] += t["event_steps"]
            control["event_garbage"] += t["event_garbage"]
    steps = control["quiet"] + control["events"]
    quiet = per_step(control["garbage"], control["quiet"]).strip()
    loud = per_step(control["garbage"] + control["event_garbage"], steps).strip()
    print(f"  control path: {quiet} bytes of garbage per step without events (target 0),"
          f" {loud} per step with telemetry (event lines) on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
