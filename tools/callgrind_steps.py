"""x86 instructions per scheduler step on the MicroPython Unix port, by valgrind callgrind.

Usage: tools/callgrind_steps.py [--mode bare,replay,closed,day] [--profile MODE] [--top N]
                               [--day-hours A B] [--seconds A B] [--keep DIR]

Instruction counts are deterministic where wall time moves by 2x with the other work on the
machine, so issue 14's cuts are decided on them. Each mode runs the firmware twice under
callgrind, over a short and a longer span of virtual time, and prints
(instructions of the long run - of the short run) / (steps of the long run - of the short run):
start-up, imports and the end of the run cancel. A step is one scheduler step (one task run).

Modes (the spans the README's Benchmarks table uses):
- bare:   the bare scheduler loop: the replay's task table (same periods and phases) with
          empty task bodies, 200 s vs 2,000 s
- replay: the full firmware replaying a recorded nominal 1 U/h trace (seed 3, recorded once
          into build/callgrind/), its first 200 s vs 1,200 s
- closed: the full firmware closed loop on the emulated plant, scenarios/bench-72h.json's
          settings and profile without its meals, 200 s vs 1,200 s
- day:    `make run`'s scenario (scenarios/default.json), its first hour vs two hours
          (--day-hours A B to choose, e.g. 0 24 for the whole day against nothing)

--profile MODE also prints the inclusive instructions per step of each
`@micropython.native` function (and of the interpreter's C functions) over the same two
spans. Callgrind names native code by its address; a native function's machine code starts
at the code pointer of its function object, which the run prints at its end (read with
`uctypes`), so the addresses are mapped back to names (callgrind_annotate --inclusive=yes).
Bytecode functions run inside the interpreter loop and have no entry of their own.

Needs valgrind (Debian package `valgrind`). This file is also the driver that runs inside
the Unix port under callgrind (it detects MicroPython).
"""

import sys

# --- inside the Unix port, under callgrind ---------------------------------------------------


def _native_addresses():
    """(code address, qualified name) of every function of the pump and boards modules."""
    import uctypes

    layout = {"code": uctypes.UINT64 | 24}  # mp_obj_fun_bc_t: base, context, child_table, code
    out = []
    seen = set()

    def add(fn, name):
        if type(fn).__name__ != "function" or id(fn) in seen:
            return
        seen.add(id(fn))
        out.append((uctypes.struct(id(fn), layout).code, name))

    for modname in sorted(sys.modules):
        if not (modname.startswith("pump") or modname.startswith("boards")):
            continue
        mod = sys.modules[modname]
        for attr in dir(mod):
            obj = getattr(mod, attr)
            if type(obj) is type:
                if getattr(obj, "__module__", modname) != modname:
                    continue
                for meth in dir(obj):
                    try:
                        add(getattr(obj, meth), f"{modname}.{attr}.{meth}")
                    except AttributeError:
                        pass
            else:
                add(obj, f"{modname}.{attr}")
    return out


def _inner(argv):
    firmware, mode, scen_path, span_ms = argv[0], argv[1], argv[2], int(argv[3])
    grid = argv[4] if len(argv) > 4 and argv[4] != "-" else None
    sys.path.insert(0, firmware)
    from boards.emu import plant
    from boards.emu import scenario as scenario_mod
    from boards.emu.board import EmuBoard
    from boards.emu.runner import run

    class NullOut:
        def write(self, text):
            return len(text)

    scen = scenario_mod.load(scen_path, plant.FAULTS)
    scen.duration = span_ms  # the run ends here; later actions never come due
    board = EmuBoard(scen, NullOut())
    if grid:
        from boards.emu import tracefile

        samples = tracefile.GridSamples(grid)
        board.pressure = tracefile.TracePressure(samples, board.clock)
        board.connector = tracefile.TraceConnector(samples, board.clock, scen.connector_fitted)
    if mode == "bare":
        from boards.emu.clock import EndOfRun, VirtualClock
        from boards.emu.runner import ScenarioDriver, boot
        from pump.events import EventLog
        from pump.sched import Scheduler, Task
        from pump.uptime import Uptime

        app = boot(board, scen, ScenarioDriver(board, []), "power_on")
        table = [(t.name, t.period, t.phase) for t in app.sched.tasks]
        uptime = Uptime()
        sched = Scheduler(VirtualClock(0, scen.duration), uptime, EventLog(NullOut().write, uptime))
        for name, period, phase in table:
            sched.add(Task(name, period, lambda now: None, phase_ms=phase))
        sched.start()
        try:
            sched.run()
        except EndOfRun:
            pass
        tasks = sched.tasks
    else:
        tasks = run(scen, NullOut(), board=board).sched.tasks
    steps = 0
    for task in tasks:
        steps += task.runs
    print(f"steps={steps}")
    for addr, name in _native_addresses():
        print(f"fn=0x{addr:x} {name}")


if sys.implementation.name == "micropython":
    _inner(sys.argv[1:])
    raise SystemExit

# --- on the host -----------------------------------------------------------------------------

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
CACHE = REPO / "build" / "callgrind"
MODES = ("bare", "replay", "closed", "day")
SPANS_S = {"bare": (200, 2000), "replay": (200, 1200), "closed": (200, 1200)}


class ToolError(Exception):
    pass


def hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise ToolError(
            "valgrind is not installed: this tool counts instructions with valgrind's "
            "callgrind (Debian/Ubuntu: apt-get install valgrind)"
        )
    return found


def replay_inputs() -> tuple[dict, Path]:
    """(scenario, grid) replaying a recorded 1 h nominal 10 Hz trace at 1 U/h, seed 3."""
    from pumpctl import trace, tracegen, traceplay

    CACHE.mkdir(parents=True, exist_ok=True)
    recorded = CACHE / "nominal-1h.csv"
    if not recorded.exists():
        print("recording a 1 h nominal trace for the replay spans (once) ...", file=sys.stderr)
        tracegen.generate(recorded, tracegen.scenario("nominal", 1.0, 1, 0, seed=3), cpython=True)
    tr = trace.read(recorded)
    grid = CACHE / "nominal-1h.grid"
    grid.write_bytes(traceplay.grid(tr).tobytes())
    return traceplay.scenario_for(tr), grid


def closed_scenario() -> dict:
    scen = json.loads((REPO / "scenarios" / "bench-72h.json").read_text())
    scen["actions"] = []
    return scen


def spans(mode: str, day_hours: tuple[float, float],
          seconds: tuple[int, int] | None = None) -> tuple[int, int]:
    if seconds:
        return seconds
    if mode == "day":
        return int(day_hours[0] * 3600), int(day_hours[1] * 3600)
    return SPANS_S[mode]


def run_once(mode: str, scen: dict, seconds: int, grid: Path | None, tmp: Path,
             profile: bool) -> tuple[int, int, dict[int, str], Path]:
    """(instructions, steps, native addresses, callgrind file) of one run of ``seconds``."""
    from pumpctl.firmware import FIRMWARE, micropython_binary

    out = tmp / f"{mode}-{seconds}.cg"
    if seconds == 0:
        return 0, 0, {}, out
    path = tmp / f"{mode}.json"
    path.write_text(json.dumps(scen))
    cmd = [valgrind(), "--tool=callgrind", f"--callgrind-out-file={out}"]
    cmd += [micropython_binary(), str(Path(__file__).resolve()), str(FIRMWARE), mode, str(path),
            str(seconds * 1000), str(grid) if grid else "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=FIRMWARE)
    if proc.returncode != 0:
        raise ToolError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                        + "\n".join(x for x in proc.stderr.splitlines() if not x.startswith("=="))
                        + proc.stdout[-2000:])
    steps = None
    names = {}
    for line in proc.stdout.splitlines():
        if line.startswith("steps="):
            steps = int(line[6:])
        elif line.startswith("fn="):
            addr, name = line[3:].split(" ", 1)
            names[int(addr, 16)] = name
    if steps is None:
        raise ToolError(f"no step count from the run:\n{proc.stdout[-2000:]}")
    total = None
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
    if total is None:
        raise ToolError(f"no instruction total in {out}")
    return total, steps, names, out


def inclusive(cg: Path) -> dict[str, int]:
    """Inclusive instructions by function name (callgrind_annotate --inclusive=yes)."""
    if not cg.exists():
        return {}
    proc = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(cg)],
        capture_output=True, text=True, check=True,
    )
    out = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?:\s+\[[^\]]*\])?\s*$", line)
        if m and ":" in m.group(2):
            name = m.group(2).split(":", 1)[1]
            out[name] = out.get(name, 0) + int(m.group(1).replace(",", ""))
    return out


def name_of(fn: str, names: dict[int, str]) -> str:
    """A function's name: a native function's by its address (the machine code callgrind
    enters sits 8 bytes past the code pointer on this port: mapped either way)."""
    if fn.startswith("0x"):
        try:
            addr = int(fn, 16)
        except ValueError:
            return fn
        return names.get(addr) or names.get(addr - 8) or fn
    return fn + "()"


def measure(mode: str, day_hours: tuple[float, float], tmp: Path, profile: bool,
            top: int, seconds: tuple[int, int] | None = None) -> float:
    grid = None
    if mode in ("replay", "bare"):  # bare: the replay's task table
        scen, grid = replay_inputs()
    elif mode == "closed":
        scen = closed_scenario()
    else:
        scen = json.loads((REPO / "scenarios" / "default.json").read_text())
    short, long = spans(mode, day_hours, seconds)
    if long <= short:
        raise ToolError(f"{mode}: the long span must be longer than the short one")
    i0, s0, names0, cg0 = run_once(mode, scen, short, grid, tmp, profile)
    i1, s1, names1, cg1 = run_once(mode, scen, long, grid, tmp, profile)
    per_step = (i1 - i0) / (s1 - s0)
    print(f"{mode:<8}{per_step:>12,.0f}   ({i1 - i0:,} instructions / {s1 - s0:,} steps; "
          f"{hms(short)} vs {hms(long)} of virtual time)", flush=True)
    if profile:
        a, b = inclusive(cg0), inclusive(cg1)
        rows = []
        for fn, cost in b.items():
            # the two runs' native code sits at other addresses: map each by its own names
            rows.append((name_of(fn, names1), cost))
        before = {name_of(fn, names0): cost for fn, cost in a.items()}
        diff = {}
        for name, cost in rows:
            diff[name] = diff.get(name, 0) + cost
        for name, cost in before.items():
            diff[name] = diff.get(name, 0) - cost
        whole = i1 - i0
        print(f"  inclusive x86 instructions per step, {mode} (top {top}; native functions by "
              "name, C functions with (); the callers of the whole run left out):")
        shown = 0
        for name, cost in sorted(diff.items(), key=lambda kv: -kv[1]):
            # recursion levels ("'2") and the chain of callers above the run repeat the total
            chain = name.endswith("()") or name.startswith("0x")  # C or unmapped code
            if "'" in name or (chain and cost >= 0.95 * whole) or shown >= top:
                continue
            shown += 1
            print(f"  {cost / (s1 - s0):>12,.0f}  {name}")
    return per_step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="x86 instructions per scheduler step on the MicroPython Unix port "
        "(valgrind callgrind, the difference of a short and a long run).",
        epilog="Modes: bare (bare scheduler loop), replay (72 h trace replay's nominal trace), "
        "closed (closed loop on the plant), day (make run's default day).",
    )
    ap.add_argument("--mode", default=",".join(MODES),
                    help="comma-separated modes among {} (default: all)".format(", ".join(MODES)))
    ap.add_argument("--profile", metavar="MODE", choices=MODES,
                    help="also print a per-function inclusive profile of MODE")
    ap.add_argument("--top", type=int, default=40, help="rows of the profile (default 40)")
    ap.add_argument("--day-hours", type=float, nargs=2, default=(1.0, 2.0), metavar=("A", "B"),
                    help="the day's short and long spans in hours (default 1 2)")
    ap.add_argument("--seconds", type=int, nargs=2, metavar=("A", "B"),
                    help="the short and long spans in virtual seconds, for every mode")
    ap.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    args = ap.parse_args(argv)
    modes = [m for m in args.mode.split(",") if m]
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}; choose among {', '.join(MODES)}")
    if args.profile and args.profile not in modes:
        modes.append(args.profile)
    try:
        valgrind()
        print(f"{'mode':<8}{'x86/step':>12}")
        with tempfile.TemporaryDirectory() as t:
            tmp = args.keep or Path(t)
            tmp.mkdir(parents=True, exist_ok=True)
            results = {}
            for mode in modes:
                results[mode] = measure(mode, tuple(args.day_hours), tmp, mode == args.profile,
                                        args.top, tuple(args.seconds) if args.seconds else None)
        if "bare" in results and "replay" in results:
            print(f"replay/bare {results['replay'] / results['bare']:.2f} (target <= 3)")
    except ToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
