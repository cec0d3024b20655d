"""`pumpctl run SCENARIO`: run the firmware on the emulated board and summarize the run."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pumpctl import eventlog, summary
from pumpctl.errors import UsageError
from pumpctl.firmware import import_firmware, run_firmware


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a scenario on the emulated board (MicroPython Unix port by default)",
        description="Run the firmware on the emulated board through SCENARIO in virtual time and "
        "print a summary: timeline, delivered vs programmed insulin, alarms, wall time.",
    )
    p.add_argument("scenario", type=Path, help="scenario file (JSON, format pumpscenario/1)")
    p.add_argument("--events", type=Path, metavar="FILE", help="also write the raw event log here")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--cpython", action="store_true", help="run under CPython instead of the Unix port"
    )
    p.add_argument(
        "--mcu",
        action="store_true",
        help="run on an emulated Cortex-M3 (MicroPython's qemu port, board MPS2-AN385) with "
        "the firmware in flash; builds it first (make mcu). Needs gcc-arm-none-eabi, "
        "libnewlib-arm-none-eabi and qemu-system-arm",
    )
    p.add_argument(
        "--romfs",
        action="store_true",
        help="with --mcu: import the firmware from the ROMFS image instead of the bytecode "
        "frozen into the port (both are in flash; ROMFS holds more heap: docs/boards.md)",
    )
    p.add_argument(
        "--heap",
        metavar="SIZE",
        help="MicroPython heap size, e.g. 64K: for the Unix port, or with --mcu the firmware "
        "build with that heap (built once and cached)",
    )
    p.set_defaults(func=run)


def check_scenario(path: Path):
    """Validate with the firmware's own loader under CPython, for errors with JSON line numbers."""
    import_firmware()
    from boards.emu import plant, scenario
    from pump.units import InputError

    try:
        return scenario.load(str(path), plant.FAULTS)
    except InputError as e:
        raise UsageError(f"{path}: {e}" if not str(e).startswith(str(path)) else str(e)) from None


def run(args: argparse.Namespace) -> int:
    scen = check_scenario(args.scenario)
    if args.heap and args.cpython:
        raise UsageError("--heap applies to MicroPython (Unix port or --mcu), not --cpython")
    if args.mcu and args.cpython:
        raise UsageError("--mcu and --cpython are two different targets: choose one")
    if args.romfs and not args.mcu:
        raise UsageError("--romfs applies to --mcu")
    if args.mcu:
        log, interpreter, wall = run_on_mcu(args, scen.duration)
    else:
        started = time.perf_counter()
        proc = run_firmware([str(args.scenario.resolve())], cpython=args.cpython, heap=args.heap)
        wall = time.perf_counter() - started
        log = proc.stdout
        interpreter = "CPython" if args.cpython else "MicroPython Unix port"
    if args.events:
        args.events.write_bytes(log.encode())
    events = eventlog.parse(log)
    result = summary.summarize(events, scen.name, interpreter, wall)
    if args.json:
        json.dump(result.to_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(summary.render(result))
    return 0


def run_on_mcu(args: argparse.Namespace, duration_ms: int) -> tuple[str, str, float]:
    """(event log, target description, wall seconds) of the run on the emulated Cortex-M3."""
    from pumpctl.mcu.build import Builder, parse_heap
    from pumpctl.mcu.run import run_scenario

    heap = parse_heap(args.heap)
    builder = Builder(log=lambda message: sys.stderr.write(f"mcu: {message}\n"))
    builder.image(heap)  # build before the clock starts
    progress = _progress(duration_ms) if sys.stderr.isatty() else None
    started = time.perf_counter()
    raw = json.loads(args.scenario.read_text())
    result = run_scenario(raw, heap, builder, progress, romfs=args.romfs)
    wall = time.perf_counter() - started
    if progress is not None:
        sys.stderr.write("\n")
    h = result.heap
    if h:
        sys.stderr.write(
            f"mcu: heap held after boot: app {h['app']:,} B, emulated hardware {h['hw']:,} B,"
            f" scenario {h['scenario']:,} B; high-water {h['high']:,} B of {h['total']:,} B\n"
        )
    return result.events.decode(), result.label, wall


def _progress(duration_ms: int):
    """A one-line progress report on stderr: virtual time reached of the scenario's."""

    def show(virtual_ms: int) -> None:
        done = min(virtual_ms, duration_ms)
        sys.stderr.write(
            f"\rmcu: {_hm(done)} of {_hm(duration_ms)} virtual ({100 * done // duration_ms}%)"
        )
        sys.stderr.flush()

    return show


def _hm(ms: int) -> str:
    minutes = ms // 60000
    return f"{minutes // 60}:{minutes % 60:02d}"
