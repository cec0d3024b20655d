"""Flash benchmark: `pumpctl flash` against `mpremote fs cp` of the same files.

Both run as the CLI a user runs, against a fresh `pumpctl vboard` each time
(same emulated board, same littlefs image size), so the figures include
process start-up and the soft reset each tool does. Prints ratios; asserts
nothing (performance is measured here, never in tests).

    python tools/bench_flash.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "host"), str(REPO / "firmware")]

from pumpctl.flash import build  # noqa: E402
from vboard_helpers import VBoardProcess, pumpctl_argv  # noqa: E402

BIN = Path(sys.executable).parent


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench_flash: {argv[0]} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def on_fresh_board(tmp: Path, name: str, endpoint: str, *argvs: list[str]) -> list[float]:
    board = VBoardProcess(tmp / f"{name}.img")
    port = board.url if endpoint == "socket" else board.pty
    try:
        return [timed([a.replace("PORT", port) for a in argv]) for argv in argvs]
    finally:
        board.stop()


def write_tree(root: Path, fw) -> Path:
    for f in fw.files:
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / f.path).write_bytes(f.data)
    return root


def compare(tmp: Path, fw, endpoint: str, runs: int, extra: list[str]) -> tuple:
    """Median wall times: (pumpctl flash, mpremote fs cp -r, pumpctl re-flash unchanged)."""
    tree = write_tree(tmp / f"tree-{endpoint}-{len(extra)}" / "fw", fw)
    flash = [*pumpctl_argv(), "flash", "--port", "PORT", "--quiet", *extra]
    mpremote = [str(BIN / "mpremote"), "connect", "PORT", "fs", "cp", "-r", str(tree), ":"]
    ours, theirs, again = [], [], []
    for i in range(runs):
        first, second = on_fresh_board(tmp, f"ours{i}", endpoint, flash, flash)
        ours.append(first)
        again.append(second)
        theirs += on_fresh_board(tmp, f"mpremote{i}", endpoint, mpremote)
    return tuple(statistics.median(x) for x in (ours, theirs, again))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cases = [  # (label, build, pumpctl flash options, endpoint, runs)
        ("firmware .mpy", build("emu"), [], "pty", args.runs),
        ("firmware .py sources", build("emu", compile_mpy=False), ["--no-mpy"], "pty",
         args.runs),
        ("firmware .mpy", build("emu"), [], "socket", 1),  # mpremote is slow on sockets
    ]
    print("flash benchmark: whole CLI runs, each on a fresh vboard (median); pumpctl flash "
          "includes verify, slot switch, reset and confirm")
    with tempfile.TemporaryDirectory(prefix="bench-flash-") as tmpdir:
        for label, fw, extra, endpoint, runs in cases:
            size = sum(len(f.data) for f in fw.files)
            t_ours, t_theirs, t_again = compare(Path(tmpdir), fw, endpoint, runs, extra)
            print(f"  {label}, {len(fw.files)} files, {size} bytes, over the {endpoint} "
                  f"({runs} run{'s' if runs > 1 else ''}):")
            print(f"    mpremote fs cp -r     {t_theirs:6.2f} s  "
                  f"{size / t_theirs / 1024:7.1f} KiB/s")
            print(f"    pumpctl flash         {t_ours:6.2f} s  {size / t_ours / 1024:7.1f} KiB/s")
            print(f"    flash speed-up vs mpremote fs cp: {t_theirs / t_ours:.2f}x "
                  f"(target >= 2x)")
            print(f"    re-flash unchanged    {t_again:6.2f} s  (target <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
