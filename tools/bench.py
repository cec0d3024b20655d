"""`make bench`: emulation speed and memory of the full firmware, printed as ratios.

Runs tools/emu_bench.py inside the MicroPython Unix port (and, for reference,
under CPython) on a 72 h scenario with the 10 Hz control task, then checks
whether the same run completes with a 64 KiB MicroPython heap. Targets from
docs/targets.md: full/bare <= 3, 64K heap, 0 bytes per control tick.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from pumpctl.firmware import FIRMWARE, firmware_command, micropython_binary  # noqa: E402

SCENARIO = REPO / "scenarios" / "bench-72h.json"


def inner(interpreter: list[str]) -> dict[str, float]:
    cmd = [*interpreter, str(REPO / "tools" / "emu_bench.py"), str(FIRMWARE), str(SCENARIO)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=FIRMWARE)
    return {k: float(v) for k, v in (item.split("=") for item in proc.stdout.split())}


def heap_check(size: str) -> tuple[bool, str]:
    proc = subprocess.run(
        firmware_command([str(SCENARIO)], heap=size),
        capture_output=True,
        text=True,
        cwd=FIRMWARE,
        check=False,
    )
    if proc.returncode == 0:
        return True, "completes"
    last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
    return False, last[0] if last else f"exit {proc.returncode}"


def main() -> int:
    print(f"Emulation speed: {SCENARIO.name} (72 h virtual, 10 Hz control task)")
    print(
        f"{'interpreter':<24}{'bare loop s':>12}{'firmware s':>12}{'ratio':>8}{'target':>8}"
        f"{'virtual/wall':>14}"
    )
    for label, interp in (
        ("MicroPython Unix port", [micropython_binary()]),
        ("CPython (reference)", [sys.executable]),
    ):
        started = time.perf_counter()
        r = inner(interp)
        ratio = r["full_s"] / r["bare_s"]
        speed = 72 * 3600 / r["full_s"]
        print(
            f"{label:<24}{r['bare_s']:>12.2f}{r['full_s']:>12.2f}{ratio:>8.2f}{'<= 3':>8}"
            f"{speed:>13,.0f}x   ({time.perf_counter() - started:.0f} s in all)"
        )
        if label.startswith("MicroPython"):
            mpy = r
    print()
    print("Memory (MicroPython Unix port):")
    print(f"  scheduler steps in 72 h           {int(mpy['ticks']):,}")
    print(
        f"  bytes allocated per quiet tick    {mpy['alloc_quiet']:.2f}   (target 0: control path)"
    )
    print(f"  bytes per tick, events included   {mpy['alloc_all']:.2f}   (event lines are text)")
    print(f"  peak heap, source-loaded run      {int(mpy['peak']):,} bytes")
    ok, why = heap_check("64K")
    print(f"  72 h run with -X heapsize=64K     {'yes' if ok else 'NO'}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
