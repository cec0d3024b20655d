"""`make mcu`: build the firmware for the emulated Cortex-M3 (MicroPython's qemu port).

    python tools/mcu.py [--heap 64K]

Builds, from the pinned MicroPython commit (MICROPY_SRC, else the vendored snapshot beside
the repository, else fetched), mpy-cross, the qemu port for board MPS2_AN385 with the given
heap, and the ROMFS image of the firmware, all cached under build/mcu/ (a second run with
nothing changed does nothing). Prints what qemu boots. See docs/boards.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from pumpctl.errors import PumpctlError
from pumpctl.mcu.build import Builder, heap_label, parse_heap
from pumpctl.mcu.qemu import qemu_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heap", help="MicroPython heap size, e.g. 64K (default: 140K)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        heap = parse_heap(args.heap)
        builder = Builder(log=lambda message: print(f"mcu: {message}", flush=True))
        image = builder.image(heap)
    except PumpctlError as e:
        sys.stderr.write(f"make mcu: {e}\n")
        return 1
    print(f"mcu: MicroPython from {image.source.origin}")
    print(f"mcu: port     {image.elf}  ({heap_label(heap)} heap)")
    print(f"mcu: firmware {image.romfs}  ({image.romfs.stat().st_size} bytes of ROMFS)")
    print(f"mcu: ready in {time.perf_counter() - started:.1f} s; boot it with")
    print("  " + " ".join(qemu_command(image)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
