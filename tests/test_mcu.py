"""Same inputs, same event log, byte for byte: CPython, the Unix port and the Cortex-M3.

The MCU is MicroPython's qemu port (32-bit, single-precision floats, 31-bit small ints,
a 64 KB heap here) with the firmware frozen into its flash; short scenarios, as the board
runs about a hundred times faster than real time. The whole day and the 72 h run are in
`make bench-mcu`.
"""

import json
import os
import sys

import pytest
from emu import run_subprocess, scenario
from hypothesis import given, settings
from mcu import builder, run_on_mcu
from pumpctl import cli
from pumpctl.mcu import toolchain
from strategies import programs

OCCLUSION = scenario(
    name="occlusion",
    duration="0:20",
    seed=7,
    basal_u_per_h=[[0, 2.0]],
    actions=[
        {"at": "0:04:00", "fault": "occlusion"},
        {"at": "0:12:00", "fault": "clear"},
        {"at": "0:13:00", "command": "ack"},
    ],
)
DISCONNECT = scenario(
    name="disconnect",
    duration="0:20",
    seed=11,
    basal_u_per_h=[[0, 2.0]],
    actions=[
        {"at": "0:04:00", "fault": "disconnect"},
        {"at": "0:12:00", "fault": "reconnect"},
        {"at": "0:13:00", "command": "ack"},
    ],
)
# button bolus, host boluses (one extended), temp basal, suspend/resume, a power cut,
# a low battery, a time of day and a tick clock near the 2**30 wrap
EVERYDAY = scenario(
    name="everyday",
    duration="0:20",
    start_time="23:55",
    clock_start_ticks=(1 << 30) - 6 * 60_000,
    basal_u_per_h=[[0, 0.4], [5, 0.8], [1435, 1.6]],
    settings={"max_bolus_u": 5, "button_step_u": 0.5},
    actions=[
        {"at": "0:01:00", "press": [150, 150, 150, 1500]},
        {"at": "0:03:00", "command": "bolus", "args": {"amount_u": 1.0, "duration_min": 6}},
        {"at": "0:05:00", "command": "temp_basal", "args": {"percent": 150, "duration_min": 5}},
        {"at": "0:08:00", "fault": "reboot"},
        {"at": "0:11:00", "command": "suspend"},
        {"at": "0:12:30", "command": "resume"},
        {"at": "0:14:00", "fault": "battery", "percent": 8},
        {"at": "0:15:00", "command": "bolus", "args": {"amount_u": 0.25}},
    ],
)


@pytest.fixture(scope="module")
def board_builder():
    return builder()


def three_way(raw, tmp_path, b, **mcu_options):
    on_cpy = run_subprocess(raw, tmp_path, cpython=True)
    on_unix = run_subprocess(raw, tmp_path, cpython=False)
    on_mcu = run_on_mcu(b, raw, **mcu_options)
    assert on_unix == on_cpy
    assert on_mcu.events == on_unix
    return on_mcu


@pytest.mark.parametrize("raw", [OCCLUSION, DISCONNECT, EVERYDAY], ids=lambda r: r["name"])
def test_short_scenarios_are_byte_identical_on_three_targets(raw, tmp_path, board_builder):
    run = three_way(raw, tmp_path, board_builder)
    log = run.events.decode()
    assert log.splitlines()[-1].split(" ")[1] == "end"
    kinds = {"occlusion": "alarm kind=occlusion", "disconnect": "alarm kind=disconnect"}
    if raw["name"] in kinds:
        assert kinds[raw["name"]] in log  # the fault really raised its alarm on the board
    assert run.heap["app"] > 0 and run.heap["total"] == 64000


def test_firmware_from_romfs_gives_the_same_log(tmp_path, board_builder):
    """The other way to ship code in flash: the ROMFS image, imported instead of frozen code."""
    three_way(OCCLUSION, tmp_path, board_builder, heap="140K", romfs=True)


@settings(max_examples=int(os.environ.get("MCU_DIFF_EXAMPLES", "3")))
@given(programs(short=True))
def test_generated_scenarios_are_byte_identical_on_three_targets(tmp_path_factory, raw):
    b = builder()
    three_way(raw, tmp_path_factory.mktemp("mcu"), b)


def _frozen_paths(b, **options):
    """What firmware/manifest.py freezes, read with the pinned MicroPython's own manifest tool."""
    from pumpctl.mcu.build import MANIFEST

    tools = str(b.source.root / "tools")
    sys.path.insert(0, tools)
    try:
        import manifestfile
    finally:
        sys.path.remove(tools)
    m = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {"MPY_DIR": str(b.source.root)})
    m.include(str(MANIFEST), **options)
    return sorted(r.target_path for r in m.files())


def test_manifest_freezes_the_firmware_for_a_real_port(board_builder):
    real = _frozen_paths(board_builder)
    assert "pump/app.py" in real and "boards/device.py" in real and "boards/hal.py" in real
    assert not [p for p in real if p.startswith("boards/emu/")]  # no emulated board on a port
    assert "boards/drivers/_native.py" not in real and "main.py" not in real
    emu = _frozen_paths(board_builder, emu=True)
    assert "boards/emu/mcurun.py" in emu and set(real) < set(emu)


def test_pumpctl_run_mcu_gives_the_summary_and_the_unix_ports_events(tmp_path, capsys):
    builder()  # skip (or fail when required) without the toolchain
    path = tmp_path / "occlusion.json"
    path.write_text(json.dumps(OCCLUSION))
    events = tmp_path / "events.txt"
    assert cli.main(["run", str(path), "--mcu", "--heap", "64K", "--events", str(events)]) == 0
    out = capsys.readouterr().out
    assert "on MicroPython qemu port, Cortex-M3 (MPS2-AN385), 64K heap, frozen" in out
    assert "ALARM occlusion raised" in out
    assert events.read_bytes() == run_subprocess(OCCLUSION, tmp_path, cpython=False)


def test_pumpctl_run_mcu_without_the_toolchain_names_the_packages(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(toolchain, "missing_packages", lambda: ["qemu-system-arm"])
    path = tmp_path / "s.json"
    path.write_text(json.dumps(OCCLUSION))
    assert cli.main(["run", str(path), "--mcu"]) == 1
    err = capsys.readouterr().err
    assert "qemu-system-arm" in err and "apt-get install" in err and "Traceback" not in err


def test_no_source_and_no_network_is_a_clear_error(tmp_path, monkeypatch):
    from pumpctl.mcu import source
    from pumpctl.mcu.source import SourceError

    monkeypatch.delenv("MICROPY_SRC", raising=False)
    monkeypatch.setattr(source, "find_snapshot", lambda repo: None)
    monkeypatch.setattr(source, "ARCHIVE_URL", "http://127.0.0.1:9/micropython.tar.gz")
    with pytest.raises(SourceError) as e:
        source.locate(tmp_path, tmp_path / "cache")
    assert source.COMMIT in str(e.value) and "MICROPY_SRC" in str(e.value)


def test_micropy_src_must_be_a_micropython_tree(tmp_path, monkeypatch):
    from pumpctl.mcu import source
    from pumpctl.mcu.source import SourceError

    monkeypatch.setenv("MICROPY_SRC", str(tmp_path))
    with pytest.raises(SourceError, match="not a MicroPython tree"):
        source.locate(tmp_path, tmp_path / "cache")
