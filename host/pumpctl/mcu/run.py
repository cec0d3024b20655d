"""A scenario on the emulated Cortex-M3: the event log (bytes, as on the Unix port) and heap."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .build import Builder, heap_label
from .qemu import Board

REPORT_PREFIX = b"mcu "


@dataclass
class McuRun:
    """The event log and the board's own report lines (``mcu heap ...``), parsed."""

    events: bytes
    heap: dict[str, int] = field(default_factory=dict)
    label: str = ""


def launcher_code(size: int, romfs: bool = False) -> str:
    """What the raw REPL runs: the runner from flash, then SIZE bytes of scenario on stdin.

    The port finds frozen modules first; ``romfs`` takes them off the path so the firmware
    is imported from the ROMFS image (/rom) instead."""
    prelude = "import sys\nsys.path.remove('.frozen')\n" if romfs else ""
    return f"{prelude}from boards.emu.mcurun import main\nmain({size})\n"


class _Splitter:
    """Splits the board's output into event lines and ``mcu`` report lines as it streams."""

    def __init__(self, progress: Callable[[int], None] | None):
        self.partial = b""
        self.events: list[bytes] = []
        self.reports: list[bytes] = []
        self.progress = progress

    def feed(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            (self.reports if line.startswith(REPORT_PREFIX) else self.events).append(line + b"\n")
        if self.progress and lines and self.events:
            stamp = self.events[-1].split(b" ", 1)[0]
            if stamp.isdigit():
                self.progress(int(stamp))


def run_scenario(
    raw: dict,
    heap: int,
    builder: Builder | None = None,
    progress: Callable[[int], None] | None = None,
    timeout: float | None = None,
    romfs: bool = False,
) -> McuRun:
    """Run the scenario ``raw`` on the board with ``heap`` bytes of heap.

    The firmware runs frozen into the port's flash, or from the ROMFS image with ``romfs``."""
    builder = builder or Builder(log=_log)
    image = builder.image(heap)
    payload = json.dumps(raw).encode()  # ASCII: json escapes the rest
    splitter = _Splitter(progress)
    with Board(image) as board:
        board.enter_raw_repl()
        code = launcher_code(len(payload), romfs)
        board.exec_streaming(code, splitter.feed, timeout, stdin=payload)
    if splitter.partial:
        splitter.feed(b"\n")
    heap_report: dict[str, int] = {}
    for line in splitter.reports:
        words = line.decode().split()
        if words[1] == "heap":
            heap_report = {k: int(v) for k, v in (w.split("=") for w in words[2:])}
    where = "ROMFS" if romfs else "frozen"
    label = f"MicroPython qemu port, Cortex-M3 (MPS2-AN385), {heap_label(heap)} heap, {where}"
    return McuRun(b"".join(splitter.events), heap_report, label)


def _log(message: str) -> None:
    sys.stderr.write(f"mcu: {message}\n")
