"""Type-check the firmware against each MicroPython port's published stubs.

Targets:
  rp2, esp32, stm32  the board module for that port, the shared drivers, the HAL,
                     board selection, firmware/pump and main.py, against
                     micropython-<port>-stubs + micropython-stdlib-stubs
  stdlib             firmware/pump alone against micropython-stdlib-stubs (plus the
                     core modules every port has: micropython, time, gc, binascii,
                     hashlib, errno), so it cannot use a CPython-only API

Pyright runs with the stub packages as its typeshed and is given an interpreter
stand-in that reports no search paths, so CPython's own standard library can
never satisfy an import. Stubs are installed pinned with
``pip install --target build/stubs/<target>`` (``--install``).

Exit status 0 when every target has 0 errors, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STDLIB_STUBS = "micropython-stdlib-stubs==1.29.0.post2"
PORT_STUBS = {
    "rp2": "micropython-rp2-stubs==1.29.0.post1",
    "esp32": "micropython-esp32-stubs==1.29.0.post1",
    "stm32": "micropython-stm32-stubs==1.29.0.post1",
}
BOARD_MODULES = {
    "rp2": "boards/rp2_pico.py",
    "esp32": "boards/esp32_devkit.py",
    "stm32": "boards/stm32_pyboard.py",
}
TARGETS = ("rp2", "esp32", "stm32", "stdlib")
# Built into every target port (and the Unix port) but shipped with the port stubs only.
CORE_MODULES = ("micropython.pyi", "time.pyi", "gc.pyi", "binascii.pyi", "hashlib.pyi", "errno.pyi")
PYRIGHT_RULES = {
    "typeCheckingMode": "basic",
    "pythonVersion": "3.8",
    "reportMissingModuleSource": "none",  # stubs-only packages have no source: expected
    # ``x = None`` attributes set later are the firmware's style (no typing at runtime):
    # reported, but not failing; port APIs and imports are what this check is for.
    "reportOptionalMemberAccess": "warning",
}
# Modules that only exist at run time (written by pumpctl flash, injected by the vboard).
RUNTIME_STUBS = REPO / "tools" / "typestubs"
NO_PYTHON = '#!/bin/sh\necho \'{"path": [], "prefix": "/nonexistent"}\'\n'


class TypecheckError(Exception):
    """A problem running the check itself (not a type error in the firmware)."""


def stub_requirements(target: str) -> list[str]:
    """The pinned stub packages for ``target``."""
    if target == "stdlib":
        return [STDLIB_STUBS]
    return [PORT_STUBS[target], STDLIB_STUBS]


def install_stubs(stubs_dir: Path, target: str) -> Path:
    """Install ``target``'s pinned stubs under ``stubs_dir/target`` unless already there."""
    dest = stubs_dir / target
    pins = "\n".join(stub_requirements(target))
    marker = dest / ".pins"
    if marker.is_file() and marker.read_text() == pins:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "--target",
        str(dest),
        *stub_requirements(target),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise TypecheckError(f"installing stubs for {target} failed:\n{result.stderr}")
    if target == "stdlib":
        # The core modules come from the port stubs: take them from rp2, after checking
        # that every port has them (else pump/ could use what one port lacks).
        donors = [install_stubs(stubs_dir, port) for port in PORT_STUBS]
        for name in CORE_MODULES:
            lacking = [d.name for d in donors if not (d / name).is_file()]
            if lacking:
                raise TypecheckError(f"core module {name} missing from the {lacking} stubs")
            shutil.copy(donors[0] / name, dest / name)
    marker.write_text(pins)
    return dest


@contextlib.contextmanager
def stubs_lock(stubs_dir: Path):
    """One installer at a time per stubs directory (parallel tests, make typecheck beside them)."""
    stubs_dir.mkdir(parents=True, exist_ok=True)
    with open(stubs_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def target_files(root: Path, target: str) -> list[Path]:
    """The firmware files checked for ``target`` (all of firmware/pump, plus board code)."""
    files = sorted((root / "pump").rglob("*.py"))
    if target != "stdlib":
        files += [
            root / "boards" / "__init__.py",
            root / "boards" / "hal.py",
            root / "boards" / "boot.py",
            root / "boards" / "device.py",
            root / BOARD_MODULES[target],
        ]
        files += sorted((root / "boards" / "drivers").glob("*.py"))
        if (root / "main.py").is_file():
            files.append(root / "main.py")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise TypecheckError("missing firmware files: " + ", ".join(missing))
    return files


def run_pyright(root: Path, stubs: Path, target: str, work: Path) -> list[dict]:
    """Run pyright on one target and return its error diagnostics."""
    work.mkdir(parents=True, exist_ok=True)
    config = dict(PYRIGHT_RULES)
    config.update(
        {
            # pyright wants paths relative to the config file
            "include": [os.path.relpath(f, work) for f in target_files(root, target)],
            "typeshedPath": os.path.relpath(stubs, work),
            "stubPath": os.path.relpath(stubs, work),
            "extraPaths": [os.path.relpath(root, work), os.path.relpath(RUNTIME_STUBS, work)],
        }
    )
    (work / "pyrightconfig.json").write_text(json.dumps(config, indent=1))
    no_python = work / "no-python"
    no_python.write_text(NO_PYTHON)
    no_python.chmod(0o755)
    pyright = Path(sys.executable).parent / "pyright"
    cmd = [
        str(pyright) if pyright.exists() else "pyright",
        "-p",
        str(work),
        "--pythonpath",
        str(no_python),
        "--outputjson",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise TypecheckError(
            f"pyright gave no report for {target} (exit {result.returncode}):\n"
            + result.stdout[-2000:]
            + result.stderr[-2000:]
        ) from None
    expected = len(config["include"])
    analyzed = report.get("summary", {}).get("filesAnalyzed", 0)
    if analyzed < expected:  # a silently empty run must never pass as clean
        raise TypecheckError(
            f"pyright analyzed {analyzed} of {expected} files for {target}:\n"
            + result.stderr[-2000:]
        )
    return [d for d in report.get("generalDiagnostics", []) if d.get("severity") == "error"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="any of {} (default: all)".format(", ".join(TARGETS)),
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO / "firmware",
        help="firmware tree to check (default: firmware/)",
    )
    parser.add_argument(
        "--stubs",
        type=Path,
        default=REPO / "build" / "stubs",
        help="where the stub packages are installed",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "build" / "typecheck",
        help="where the generated pyright configs go",
    )
    args = parser.parse_args(argv)
    bad = [t for t in args.targets if t not in TARGETS]
    if bad:
        print(
            "typecheck: unknown target {} (choose from {})".format(
                ", ".join(bad), ", ".join(TARGETS)
            ),
            file=sys.stderr,
        )
        return 2
    errors = 0
    try:
        for target in args.targets or TARGETS:
            with stubs_lock(args.stubs.resolve()):
                stubs = install_stubs(args.stubs.resolve(), target)
            found = run_pyright(args.root.resolve(), stubs, target, args.work.resolve() / target)
            for d in found:
                start = d["range"]["start"]
                where = f"{d['file']}:{start['line'] + 1}:{start['character'] + 1}"
                print(f"{where}: [{target}] {d['message'].splitlines()[0]}")
            print(f"typecheck {target:<6} {len(found)} error(s)")
            errors += len(found)
    except TypecheckError as exc:
        print(f"typecheck: {exc}", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
