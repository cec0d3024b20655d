"""MicroPython's own test suite against a board on a serial port, next to a direct run.

    python tools/upy_tests.py [--dir basics] [--port PORT | --mcu] [TEST ...]

Runs ``tests/run-tests.py`` of the pinned MicroPython source (``$MICROPY_SRC``, else
the snapshot in ../shared/vendor, as ``make mcu`` finds it) twice on the same tests:
directly on the Unix port of this venv (``-t unix``), and through the serial link of
a board (``-t port:PTY``): a fresh ``pumpctl vboard`` on a blank flash image by
default, ``pumpctl vboard --mcu`` (the qemu board) with ``--mcu``, or any board
already on ``--port``. A test that passes directly must pass on the board; the
report lists those that do not. Tests that need micropython-lib's ``unittest`` are
left out of both runs (the Unix port here has no micropython-lib).

Exit status 0 when no test passes directly and fails on the board (and at least one
passes), 1 otherwise, 2 when the MicroPython source cannot be found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEEDS = "unittest"  # a test whose source names it needs micropython-lib: not run
BOARD_START_TIMEOUT_S = 60.0


def micropython_source(fetch: bool = True) -> Path | None:
    """The MicroPython tree whose tests/ runs (unpacked under build/mcu like `make mcu`);
    None when there is none and ``fetch`` is False."""
    from pumpctl.mcu import source

    if not fetch and not os.environ.get("MICROPY_SRC") and source.find_snapshot(REPO) is None:
        return None
    return source.locate(REPO, REPO / "build" / "mcu").root


def test_files(tests_dir: Path, directory: str, names: list[str]) -> tuple[list[str], list[str]]:
    """(tests to run, tests left out because they need unittest), as 'dir/name.py'."""
    if names:
        chosen = [n if "/" in n else f"{directory}/{n}" for n in names]
    else:
        chosen = sorted(f"{directory}/{p.name}" for p in (tests_dir / directory).glob("*.py"))
    run, left_out = [], []
    for name in chosen:
        (left_out if NEEDS in (tests_dir / name).read_text() else run).append(name)
    return run, left_out


def run_tests(tests_dir: Path, target: str, files: list[str], result_dir: Path) -> dict[str, str]:
    """{test: pass|fail|skip} from one run-tests.py run."""
    env = dict(os.environ, MICROPY_MICROPYTHON=str(Path(sys.executable).with_name("micropython")))
    cmd = [sys.executable, "run-tests.py", "-t", target, "-r", str(result_dir), *files]
    proc = subprocess.run(cmd, cwd=tests_dir, env=env, capture_output=True, text=True)
    results_file = result_dir / "_results.json"
    if not results_file.exists():
        raise SystemExit(
            f"upy_tests: run-tests.py against {target} gave no results (exit {proc.returncode}):\n"
            + (proc.stdout + proc.stderr)[-3000:]
        )
    results = json.loads(results_file.read_text())["results"]
    return {test: outcome for test, outcome, _reason in results}


@dataclass
class Comparison:
    direct: dict[str, str]
    board: dict[str, str]
    left_out: list[str] = field(default_factory=list)

    def passed(self, results: dict[str, str]) -> set[str]:
        return {t for t, r in results.items() if r == "pass"}

    @property
    def regressions(self) -> list[str]:
        """Tests that pass on the direct run and fail (or are missing) on the board."""
        return sorted(
            t for t in self.passed(self.direct) if self.board.get(t) not in ("pass", "skip")
        )

    @property
    def skipped_on_board(self) -> list[str]:
        """Tests that pass directly and skip themselves on the board: they need what no
        board's raw REPL has (a script file: ``__file__``, ``sys.path[0]``)."""
        return sorted(t for t in self.passed(self.direct) if self.board.get(t) == "skip")

    @property
    def ok(self) -> bool:
        return not self.regressions and bool(self.passed(self.board))

    def report(self, board_name: str) -> str:
        lines = []
        for name, results in (("direct (Unix port)", self.direct), (board_name, self.board)):
            outcomes = list(results.values())
            counts = {k: outcomes.count(k) for k in ("pass", "fail", "skip")}
            lines.append(
                f"{name:<24} {counts['pass']:>4} passed {counts['fail']:>4} failed "
                f"{counts['skip']:>4} skipped"
            )
        if self.left_out:
            lines.append(f"left out (need unittest): {' '.join(self.left_out)}")
        if self.skipped_on_board:
            lines.append(
                "skip themselves on the board (run from a file directly, from the REPL on "
                f"a board): {' '.join(self.skipped_on_board)}"
            )
        extra = sorted(self.passed(self.board) - self.passed(self.direct))
        if extra:
            lines.append(f"pass on the board only: {' '.join(extra)}")
        if self.regressions:
            lines.append(f"FAIL: pass directly, not on {board_name}: {' '.join(self.regressions)}")
        else:
            lines.append(f"every test that passes directly passes on {board_name}")
        return "\n".join(lines)


class BoardProcess:
    """``pumpctl vboard`` (or ``--mcu``: ``repl`` leaves it at its REPL, else the pump
    runs) in the background; ``pty`` is its serial port."""

    def __init__(self, mcu: bool, work: Path, repl: bool = False, key: Path | None = None):
        argv = [sys.executable, "-m", "pumpctl.cli", "vboard"]
        argv += (["--mcu", "--repl"] if repl else ["--mcu"]) if mcu else [
            "--flash", str(work / "blank.img")]  # fmt: skip
        if key is not None:  # the qemu board, keyed (SEC-1) before the pump starts
            argv += ["--key", str(key)]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO,
            env=dict(os.environ, PYTHONUNBUFFERED="1"), text=True,
        )  # fmt: skip
        self.pty = ""
        seen = []
        deadline = time.monotonic() + BOARD_START_TIMEOUT_S
        assert self.proc.stdout is not None
        while not self.pty and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if line.startswith("vboard: pty "):
                self.pty = line.split()[-1]
        if not self.pty:
            self.stop()
            raise SystemExit("upy_tests: the board did not start:\n" + "\n".join(seen))

    def stop(self) -> None:
        from pumpctl.vboard import stop_process

        stop_process(self.proc)


def compare(
    tests_dir: Path, files: list[str], work: Path, port: str | None = None, mcu: bool = False
) -> Comparison:
    """Run ``files`` directly and on a board; the two result sets."""
    direct = run_tests(tests_dir, "unix", files, work / "direct")
    board = None if port else BoardProcess(mcu, work, repl=True)  # the tests need the REPL
    try:
        target = "port:" + (port or board.pty)  # type: ignore[union-attr]
        on_board = run_tests(tests_dir, target, files, work / "board")
    finally:
        if board is not None:
            board.stop()
    return Comparison(direct, on_board)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="MicroPython's run-tests.py on a board vs a direct run on the Unix port."
    )
    parser.add_argument("tests", nargs="*", metavar="TEST", help="test files (default: --dir)")
    parser.add_argument("--dir", default="basics", help="test directory (default: basics)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", help="a board already on this serial port (pty path)")
    where.add_argument("--mcu", action="store_true", help="the qemu board (pumpctl vboard --mcu)")
    args = parser.parse_args(argv)
    try:
        root = micropython_source()
    except Exception as e:  # SourceError: no snapshot, no MICROPY_SRC, no network
        print(f"upy_tests: {e}", file=sys.stderr)
        return 2
    assert root is not None
    tests_dir = root / "tests"
    files, left_out = test_files(tests_dir, args.dir, args.tests)
    board_name = "qemu board" if args.mcu else ("board on " + args.port if args.port else "vboard")
    print(f"upy_tests: {len(files)} tests from {tests_dir} on the Unix port and the {board_name}")
    with tempfile.TemporaryDirectory(prefix="upy-tests-") as tmp:
        result = compare(tests_dir, files, Path(tmp), args.port, args.mcu)
    result.left_out = left_out
    print(result.report(board_name))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
