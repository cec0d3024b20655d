"""Bundles build for every board with mpy-cross; the .mpy headers carry the board's arch."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import build as bundle_tool  # noqa: E402

# mpy-cross architecture numbers (MP_NATIVE_ARCH_*), stored in bits 2..7 of header byte 2
ARCH_CODES = {"x64": 2, "armv6m": 4, "armv7emsp": 7, "xtensawin": 10}
BOARD_MODULES = {"rp2": "rp2_pico", "esp32": "esp32_devkit", "stm32": "stm32_pyboard"}
NATIVE_MODULE = "boards/drivers/stepper.mpy"  # has @micropython.native code


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    manifests = {board: bundle_tool.build(board, out, quiet=True) for board in bundle_tool.BOARDS}
    return out, manifests


@pytest.mark.parametrize("board", ["rp2", "esp32", "stm32", "emu"])
def test_manifest_matches_the_files(bundles, board):
    out, manifests = bundles
    manifest = json.loads((out / board / "manifest.json").read_text())
    assert manifest == manifests[board]
    assert manifest["format"] == "pump-bundle/2" and manifest["board"] == board
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {
        p.relative_to(out / board).as_posix()
        for p in (out / board).rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk
    for f in manifest["files"]:
        data = (out / board / f["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f["size"], f["sha256"])
    assert manifest["total_bytes"] == sum(f["size"] for f in manifest["files"])


@pytest.mark.parametrize("board", ["rp2", "esp32", "stm32"])
def test_mpy_headers_carry_the_board_arch(bundles, board):
    out, manifests = bundles
    arch = manifests[board]["arch"]
    for f in manifests[board]["files"]:
        if not f["path"].endswith(".mpy"):
            continue
        header = (out / board / f["path"]).read_bytes()[:4]
        assert header[:2] == b"M\x06", f["path"]  # .mpy format version 6
        assert header[3] == 31, f["path"]  # 32-bit small ints, as on the MCU
    native = (out / board / NATIVE_MODULE).read_bytes()
    assert native[2] >> 2 == ARCH_CODES[arch]


def test_each_bundle_holds_only_its_own_board(bundles):
    _, manifests = bundles
    for board, module in BOARD_MODULES.items():
        paths = {f["path"] for f in manifests[board]["files"]}
        assert f"boards/{module}.mpy" in paths
        others = {f"boards/{m}.mpy" for b, m in BOARD_MODULES.items() if b != board}
        assert not paths & others
        assert "boards/drivers/_native.mpy" not in paths  # CPython-only shim
        assert not any(p.startswith("boards/emu/") for p in paths)


def test_bundle_runs_on_the_unix_port_and_wrong_arch_is_refused(bundles):
    out, _ = bundles
    code = (
        "import sys\nsys.path.insert(0, '{}')\n"
        "from boards.drivers.stepper import StepDirStepper\n"
        "import pump.ticks\nprint(StepDirStepper.__name__, pump.ticks.ticks_diff(0, 5))\n"
    )
    micropython = str(Path(sys.executable).parent / "micropython")
    ok = subprocess.run(
        [micropython, "-c", code.format(out / "emu")], capture_output=True, text=True, cwd="/"
    )
    assert ok.stdout.strip() == "StepDirStepper -5", ok.stderr
    wrong = subprocess.run(
        [micropython, "-c", code.format(out / "rp2")], capture_output=True, text=True, cwd="/"
    )
    assert "incompatible .mpy arch" in wrong.stdout + wrong.stderr


def test_unknown_board_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "build.py"), "pic32", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "unknown board 'pic32'" in result.stderr


@pytest.mark.parametrize("board", ["rp2", "esp32", "stm32"])
def test_pumpctl_flash_ships_every_module_the_bundle_has(board):
    # pumpctl flash builds its own slot; it must not leave out a module the board imports.
    from pumpctl import flash

    slot = {f.path for f in flash.build(board, compile_mpy=False).files}
    bundle = set(bundle_tool.bundle_sources(board))
    assert bundle - slot == set()


@pytest.mark.parametrize("board", ["rp2", "esp32", "stm32", "emu"])
def test_pumpctl_flash_and_the_bundle_share_one_manifest(bundles, board):
    from pumpctl import flash

    _, manifests = bundles
    slot = flash.build(board).manifest
    assert slot["format"] == manifests[board]["format"] and slot["build"]
    # same files and bytes, except main.py, which the bundle keeps as source
    def shas(m):
        return {f["source"]: f["sha256"] for f in m["files"] if f["source"] != "main.py"}

    assert shas(slot).keys() == shas(manifests[board]).keys()
    assert {k: v for k, v in shas(slot).items() if k} == {
        k: v for k, v in shas(manifests[board]).items() if k
    }
