"""Build the MCU target: mpy-cross, the qemu port with the firmware frozen in, a ROMFS image.

Everything goes under ``build/mcu/<source key>/`` and is rebuilt only when its inputs change:
- ``mpy-cross/mpy-cross``: the cross compiler of the pinned commit;
- ``qemu-<heap>/firmware.elf``: the qemu port for board MPS2_AN385 with the firmware frozen in
  through firmware/manifest.py (bytecode, strings and constants in flash) and MICROPY_HEAP_SIZE
  set at build time. The default heap is built in full once; another heap copies that build
  and recompiles what differs (main.c, which sizes the heap, and the frozen firmware), so a
  heap variant takes seconds. A ``.built`` stamp holds the firmware hash it was built with;
  the directory name carries a hash of the port's configuration (PORT_OPTIONS), since make
  does not rebuild what a changed option affects;
- ``romfs-<firmware hash>.img``: every firmware module compiled with ``-march=armv7m`` and
  packed by ``mpremote romfs build``; qemu maps it at the board's ROMFS partition, where
  MicroPython mounts it as /rom (the other way to ship code in flash; ``--romfs`` runs it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pumpctl.errors import PumpctlError, UsageError
from pumpctl.firmware import FIRMWARE, REPO

from . import source as source_mod
from . import toolchain

BOARD = "MPS2_AN385"
ARCH = "armv7m"
DEFAULT_HEAP = 143360  # the qemu port's own default (140 KB)
# what the product's board has and the stock qemu port lacks: littlefs2 (vfs.VfsLfs2), for
# the qemu board's files on a RAM block device (boards/emu/qemu.py). The board has no
# real-time clock, so littlefs2's file times read 0 (the port has no mp_hal_time_ns); the
# quotes are for the shell that make hands the flags to
PORT_OPTIONS = ("MICROPY_VFS_LFS2=1", "CFLAGS_EXTRA=-D'mp_hal_time_ns()=0'")
HEAP_RANGE = (16 * 1024, 2 * 1024 * 1024)  # the board has 4 MB of RAM for code, data and heap
CACHE = REPO / "build" / "mcu"
# not in the image: run by name or host-only (MicroPython has the real module)
NOT_IN_IMAGE = ("main.py", "manifest.py", "boards/drivers/_native.py")
MANIFEST = FIRMWARE / "manifest.py"
# outputs of the freeze step: removed when the firmware changes, so a file that left the
# manifest leaves the build too (MicroPython's freezer only looks at timestamps)
FROZEN_OUTPUTS = ("frozen_mpy", "frozen_content.c", "frozen_content.o", "frozen_content.P")


class BuildError(PumpctlError):
    """A step of the MCU build failed: the tail of its output is in the message."""


@dataclass(frozen=True)
class Image:
    """What qemu boots: the port (``elf``) and the firmware in flash (``romfs``)."""

    elf: Path
    romfs: Path
    heap: int
    source: source_mod.Source


def parse_heap(text: str | None) -> int:
    """'64K', '1M' or a byte count -> bytes (a multiple of 1 KB within HEAP_RANGE)."""
    if text is None:
        return DEFAULT_HEAP
    value = text.strip().upper()
    scale = 1
    if value.endswith(("K", "M")):
        scale = 1024 if value[-1] == "K" else 1024 * 1024
        value = value[:-1]
    if not value.isdigit():
        raise UsageError(f"--heap: expected a size like 64K, 1M or 65536, got {text!r}")
    heap = int(value) * scale
    lo, hi = HEAP_RANGE
    if heap % 1024 or not lo <= heap <= hi:
        raise UsageError(
            f"--heap: {text} is not a whole number of KB in {lo // 1024}K..{hi // 1024}K"
        )
    return heap


def heap_label(heap: int) -> str:
    return f"{heap // 1024}K"


def firmware_files(firmware: Path = FIRMWARE) -> list[str]:
    """The firmware modules in the image ('/'-separated paths relative to ``firmware``)."""
    files = []
    for path in sorted(firmware.rglob("*.py")):
        rel = path.relative_to(firmware).as_posix()
        if "__pycache__" not in rel and rel not in NOT_IN_IMAGE:
            files.append(rel)
    return files


def port_options_key() -> str:
    """Short hash of the port's build options (part of the build directory's name)."""
    return hashlib.sha256("\n".join(PORT_OPTIONS).encode()).hexdigest()[:8]


def firmware_key(firmware: Path = FIRMWARE) -> str:
    """Hash of every module that goes into the image (names and contents)."""
    h = hashlib.sha256()
    for rel in firmware_files(firmware):
        h.update(rel.encode() + b"\0" + (firmware / rel).read_bytes() + b"\0")
    return h.hexdigest()[:12]


class Builder:
    """Builds (or finds cached) MCU artefacts for one MicroPython source."""

    def __init__(self, cache: Path = CACHE, log=None):
        self.cache = cache
        self.log = log or (lambda message: None)
        toolchain.require()
        cache.mkdir(parents=True, exist_ok=True)
        with open(cache / ".lock", "w") as lock:  # parallel test workers unpack once
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.source = source_mod.locate(REPO, cache)
        self.out = cache / self.source.key

    def image(self, heap: int = DEFAULT_HEAP) -> Image:
        """The port (firmware frozen in) with ``heap`` bytes of heap, and the ROMFS image."""
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / ".lock", "w") as lock:  # parallel test workers build once
            fcntl.flock(lock, fcntl.LOCK_EX)
            mpy_cross = self.mpy_cross()
            return Image(self.port(heap, mpy_cross), self.romfs(mpy_cross), heap, self.source)

    def mpy_cross(self) -> Path:
        out = self.out / "mpy-cross"
        prog = out / "mpy-cross"
        if not (out / ".built").exists():
            self.log(f"building mpy-cross ({self.source.origin})")
            self._make(self.source.root / "mpy-cross", [f"BUILD={out}"])
            (out / ".built").touch()
        return prog

    def port(self, heap: int, mpy_cross: Path) -> Path:
        """firmware.elf of the qemu port with the current firmware frozen in, ``heap`` bytes."""
        build = self.out / f"qemu-{heap_label(heap)}-{port_options_key()}"
        fw = firmware_key() + "+" + hashlib.sha256(MANIFEST.read_bytes()).hexdigest()[:12]
        stamp = build / ".built"
        if stamp.exists() and stamp.read_text() == fw:
            return build / "firmware.elf"
        if not build.exists() and heap != DEFAULT_HEAP:
            base = self.port(DEFAULT_HEAP, mpy_cross)
            self.log(f"building the qemu port with a {heap_label(heap)} heap")
            shutil.copytree(base.parent, build, symlinks=True)  # keeps mtimes: a small rebuild
            (build / "main.o").unlink()
        elif not build.exists():
            self.log(f"building the qemu port, board {BOARD} (a minute or more)")
        else:
            self.log(f"freezing the changed firmware into the {heap_label(heap)} build")
        stamp.unlink(missing_ok=True)
        for name in FROZEN_OUTPUTS:
            path = build / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        self._make(
            self.source.root / "ports" / "qemu",
            [
                f"BOARD={BOARD}",
                f"BUILD={build}",
                f"MICROPY_HEAP_SIZE={heap}",
                f"FROZEN_MANIFEST={self._qemu_manifest()}",
                f"MICROPY_MPYCROSS={mpy_cross}",
                f"MPY_LIB_DIR={self._no_micropython_lib()}",
                *PORT_OPTIONS,
            ],
        )
        stamp.write_text(fw)
        return build / "firmware.elf"

    def _qemu_manifest(self) -> Path:
        """The port's manifest: the firmware with the emulated board (boards/emu)."""
        path = self.out / "manifest-qemu.py"
        text = f"include({str(MANIFEST)!r}, emu=True)\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path

    def _no_micropython_lib(self) -> Path:
        """Stands for the micropython-lib submodule, which the snapshot lacks and the
        firmware's manifest does not use (the port's build only checks it is there)."""
        path = self.out / "no-micropython-lib"
        path.mkdir(exist_ok=True)
        readme = path / "README.md"
        if not readme.exists():
            readme.write_text("Stand-in: the pump firmware's manifest requires no package.\n")
        return path

    def romfs(self, mpy_cross: Path) -> Path:
        """The ROMFS image of the current firmware (compiled for armv7m)."""
        image = self.out / f"romfs-{firmware_key()}.img"
        if image.exists():
            return image
        self.log("compiling the firmware into a ROMFS image")
        staging = self.out / "romfs-staging"
        if staging.exists():
            shutil.rmtree(staging)
        for rel in firmware_files():
            dest = staging / (rel[:-3] + ".mpy")
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._run(
                [str(mpy_cross), f"-march={ARCH}", "-s", rel, "-o", str(dest), rel],
                cwd=FIRMWARE,
                what=f"mpy-cross {rel}",
            )
        part = image.with_suffix(".part")
        pack = ["romfs", "--no-mpy", "-o", str(part), "build", str(staging)]
        self._run([sys.executable, "-m", "mpremote", *pack], cwd=self.out, what="mpremote romfs")
        part.rename(image)
        for old in self.out.glob("romfs-*.img"):  # one image per source: the current firmware's
            if old != image:
                old.unlink()
        return image

    def _make(self, directory: Path, args: list[str]) -> None:
        jobs = str(max(1, min(4, os.cpu_count() or 1)))
        self._run(["make", "-j", jobs, "-C", str(directory), *args], cwd=directory, what="make")

    def _run(self, cmd: list[str], cwd: Path, what: str) -> None:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
            raise BuildError(f"{what} failed (exit {result.returncode}) in {cwd}:\n{tail}")
