"""Where the firmware lives and how to run it: on the MicroPython Unix port or under CPython."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pumpctl.errors import PumpctlError, UsageError

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
MAIN = FIRMWARE / "main.py"


def micropython_binary() -> str:
    """The Unix-port `micropython` of this environment (the venv's, else PATH)."""
    beside = Path(sys.executable).with_name("micropython")
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found is None:
        raise PumpctlError("the MicroPython Unix port is not installed (run `make venv`)")
    return found


def firmware_command(args: list[str], cpython: bool = False, heap: str | None = None) -> list[str]:
    """The command line that runs firmware/main.py with ``args`` on the chosen interpreter."""
    if cpython:
        return [sys.executable, "-X", "utf8", str(MAIN), *args]
    cmd = [micropython_binary()]
    if heap:
        cmd += ["-X", "heapsize=" + heap]
    return [*cmd, str(MAIN), *args]


def run_firmware(
    args: list[str], cpython: bool = False, heap: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the firmware to completion; a scenario error (exit 2) becomes a UsageError."""
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        firmware_command(args, cpython, heap),
        capture_output=True,
        text=True,
        cwd=FIRMWARE,
        env=env,
        check=False,
    )
    if proc.returncode == 2:
        raise UsageError(proc.stderr.strip().removeprefix("error: "))
    if proc.returncode != 0:
        where = "CPython" if cpython else "the MicroPython Unix port"
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise PumpctlError(f"the firmware failed on {where} (exit {proc.returncode}):\n{tail}")
    return proc


def import_firmware() -> None:
    """Make firmware modules importable here (the host reuses the scenario loader)."""
    path = str(FIRMWARE)
    if path not in sys.path:
        sys.path.insert(0, path)
