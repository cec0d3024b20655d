"""`make typecheck` is clean, and it bites: a machine API a port lacks makes that port fail.

Each planted call exists on another port, and the same line type-checks
there: the failure comes from the port's stubs, not from a typo.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TYPECHECK = [sys.executable, str(REPO / "tools" / "typecheck.py")]
STUBS = REPO / "build" / "stubs"
BOARD_FILES = {"rp2": "rp2_pico.py", "esp32": "esp32_devkit.py", "stm32": "stm32_pyboard.py"}

# port -> (a machine call that port lacks, a port that has it, the name pyright reports)
PLANTED = {
    "rp2": ("machine.TouchPad(machine.Pin(4))", "esp32", "TouchPad"),
    "esp32": ("machine.bootloader()", "rp2", "bootloader"),
    "stm32": ("machine.Counter(0, machine.Pin(1))", "esp32", "Counter"),
}


def typecheck(*args, cwd=REPO):
    return subprocess.run(
        TYPECHECK + ["--stubs", str(STUBS), *args], capture_output=True, text=True, cwd=cwd
    )


def firmware_copy(tmp_path):
    root = tmp_path / "firmware"
    shutil.copytree(REPO / "firmware", root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def plant(root, port, line):
    path = root / "boards" / BOARD_FILES[port]
    planted = "\n\ndef _planted():\n    import machine\n\n    " + line + "\n"
    path.write_text(path.read_text() + planted)


def test_typecheck_is_clean_for_every_board_and_the_stdlib(tmp_path):
    result = typecheck("--work", str(tmp_path / "work"))
    assert result.returncode == 0, result.stdout + result.stderr
    for target in ("rp2", "esp32", "stm32", "stdlib"):
        assert f"typecheck {target:<6} 0 error(s)" in result.stdout


@pytest.mark.parametrize("port", sorted(PLANTED))
def test_typecheck_fails_on_a_machine_api_the_port_lacks(tmp_path, port):
    call, other_port, name = PLANTED[port]
    root = firmware_copy(tmp_path)
    plant(root, port, call)
    plant(root, other_port, call)
    bad = typecheck("--root", str(root), "--work", str(tmp_path / "work"), port)
    assert bad.returncode == 1
    assert f'"{name}" is not a known attribute of module "machine"' in bad.stdout
    assert f"typecheck {port:<6} 1 error(s)" in bad.stdout
    good = typecheck("--root", str(root), "--work", str(tmp_path / "work"), other_port)
    assert good.returncode == 0, good.stdout


def test_stdlib_check_fails_on_a_cpython_only_module(tmp_path):
    root = firmware_copy(tmp_path)
    (root / "pump" / "planted.py").write_text("import dataclasses\n")
    result = typecheck("--root", str(root), "--work", str(tmp_path / "work"), "stdlib")
    assert result.returncode == 1
    assert 'Import "dataclasses" could not be resolved' in result.stdout


def test_typecheck_names_an_unknown_target():
    result = typecheck("pic32")
    assert result.returncode == 2
    assert "unknown target pic32" in result.stderr
