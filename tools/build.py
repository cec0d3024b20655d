"""Build a deployable firmware bundle for one board: .mpy files + manifest.json.

    python tools/build.py rp2|esp32|stm32|emu [--out build]

The same bundle ``pumpctl flash`` writes into a firmware slot (one board table,
one manifest format: host/pumpctl/bundle.py), laid out to copy onto a board's
filesystem root by hand: every firmware module the board needs, compiled with
the real mpy-cross for the board's architecture into build/<board>/ (same tree
as firmware/, .py -> .mpy), except main.py, which stays source because
MicroPython runs it by name at boot. Modules of other boards and CPython-only
shims are left out. manifest.json lists each file with its size and sha256;
the table of sizes is printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pumpctl.bundle import BOARDS, MANIFEST, build_files, sources
from pumpctl.errors import PumpctlError

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
SOURCE_ONLY = ("main.py",)  # run by name at boot: must stay .py


class BuildError(Exception):
    """A bundle cannot be built (bad board, compile error, missing tool)."""


def bundle_sources(board: str, firmware: Path = FIRMWARE) -> list[str]:
    """Paths (relative to ``firmware``, '/'-separated) of the files ``board`` ships."""
    return sources(board, firmware)


def build(board: str, out: Path, firmware: Path = FIRMWARE, quiet: bool = False) -> dict:
    """Build ``board``'s bundle under ``out/board`` and return its manifest."""
    try:
        files, manifest = build_files(board, firmware, keep_source=SOURCE_ONLY)
    except PumpctlError as exc:  # UsageError included: an unknown board
        raise BuildError(str(exc).removeprefix("--board: ")) from None
    dest_root = out / board
    if dest_root.exists():
        shutil.rmtree(dest_root)
    for f in files:
        dest = dest_root / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(f.data)
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
    print(f"{MANIFEST}: format {manifest['format']}, build {manifest['build']}")


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
