"""pumpctl flash against the vboard over a real socket and pty: compile, upload
what changed, verify, atomic slot switch, reset, confirm from a status frame;
and a link cut mid-transfer leaves a board that boots the old firmware."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pumpctl import proto
from pumpctl.bundle import BOARDS, file_shas
from pumpctl.errors import PumpctlError, UsageError
from pumpctl.firmware import FIRMWARE
from pumpctl.flash import Flasher, build
from pumpctl.link import Link
from vboard_helpers import VBoardProcess, pumpctl_argv

CHUNK = BOARDS["emu"].chunk


@pytest.fixture
def board(tmp_path):
    b = VBoardProcess(tmp_path / "flash.img")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def fw_old():
    return build("emu")


@pytest.fixture(scope="module")
def fw_new(tmp_path_factory):
    """The same firmware with a different version string: a real new build."""
    src = tmp_path_factory.mktemp("fw") / "firmware"
    shutil.copytree(FIRMWARE, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "pump" / "version.py").write_text('VERSION = "9.9.9-test"\n')
    return build("emu", firmware=src)


@pytest.fixture(scope="module")
def fw_src():
    """Sources instead of .mpy: every path differs from fw_old, so all of it is sent."""
    return build("emu", compile_mpy=False)


def flash(port: str, fw, cut_after: int | None = None, written: list | None = None):
    """Flash ``fw``; pull the cable after ``cut_after`` bytes; count bytes into ``written``."""
    link = CuttableLink.open(port)
    link.cut_after = cut_after
    try:
        return Flasher(link, CHUNK).run(fw)
    finally:
        if written is not None:
            written.append(link.written)
        link.close()


@pytest.fixture(scope="module")
def update_bytes(tmp_path_factory, fw_old, fw_src):
    """Bytes a flash of fw_src writes to a board running fw_old (compression included)."""
    b = VBoardProcess(tmp_path_factory.mktemp("count") / "flash.img")
    try:
        flash(b.url, fw_old)
        written: list[int] = []
        flash(b.url, fw_src, written=written)
    finally:
        b.stop()
    return written[0]


class CuttableLink(Link):
    """A link whose cable is pulled after ``cut_after`` bytes have been written."""

    cut_after: int | None = None
    written = 0

    def write(self, data: bytes) -> None:
        if self.cut_after is not None and self.written + len(data) > self.cut_after:
            keep = self.cut_after - self.written
            super().write(data[:keep])
            self.ser.close()  # the TCP connection really goes away
            raise PumpctlError("cable pulled")
        self.written += len(data)
        super().write(data)


def running_build(port: str, reset: bool = False, timeout: float = 15.0) -> dict:
    """The first STATUS frame the board sends (after a soft reset if asked)."""
    link = Link.open(port)
    try:
        if reset:
            # End a line a cut flash left open, abort its transfer, quit its agent
            # (what the next pumpctl flash does), leave any REPL, Ctrl-D: reboot.
            link.write(b"\n\nQ\n\r\x03\x03\x02")
            link.drain(quiet=0.2)
            link.write(b"\x04")
        reader = proto.FrameReader()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kind, item in reader.feed(link.read_available()):
                if kind == "frame" and item.kind == proto.STATUS:
                    return item.body
        raise AssertionError("no status frame")
    finally:
        link.close()


def test_build_compiles_every_module_and_ships_no_emulator_plumbing(fw_old):
    paths = {f.path for f in fw_old.files}
    assert "main.mpy" in paths and "pump/protocol.mpy" in paths
    assert "boards/emu/service.mpy" in paths
    assert not any(p.endswith("vboot.mpy") or p.endswith("blockdev.mpy") for p in paths)
    assert all(f.data.startswith(b"M") for f in fw_old.files if f.path.endswith(".mpy"))
    listed = file_shas(fw_old.manifest)
    assert listed["fwbuild.py"] == fw_old.by_path["fwbuild.py"].sha
    assert set(listed) == paths - {"manifest.json"}


def test_unknown_board_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown board"):
        build("avr")


def test_flash_verify_reset_confirm_then_reflash_unchanged(board, fw_old):
    first = flash(board.url, fw_old)
    assert first.confirmed and not first.unchanged and first.slot == "a"
    assert len(first.sent) == len(fw_old.files)
    status = running_build(board.url)
    assert status["build"] == fw_old.build_id and status["mode"] == "run"
    again = flash(board.url, fw_old)
    assert again.unchanged and again.confirmed and again.sent == [] and again.slot == "a"


def test_new_build_goes_to_the_other_slot_sending_only_changes(board, fw_old, fw_new):
    flash(board.url, fw_old)
    report = flash(board.pty, fw_new)  # over the pty this time
    assert report.slot == "b" and report.confirmed
    changed = {f.path for f in fw_new.files if fw_old.by_path.get(f.path, f).sha != f.sha}
    assert set(report.sent) == changed | ({"fwbuild.py", "manifest.json"} & set(report.sent))
    assert "pump/version.mpy" in report.sent and "pump/app.mpy" in report.copied
    status = running_build(board.url, reset=True)
    assert (status["build"], status["fw"]) == (fw_new.build_id, "9.9.9-test")
    # The flash went through maintenance: delivery stays stopped until resumed.
    assert report.maintenance and status["mode"] == "maintenance"


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_cut_link_mid_transfer_leaves_the_old_firmware_bootable(
    board, fw_old, fw_src, update_bytes, fraction
):
    flash(board.url, fw_old)
    with pytest.raises(PumpctlError):
        flash(board.url, fw_src, cut_after=int(update_bytes * fraction))
    # Reconnect and reboot: the pointer still names the complete old slot.
    assert running_build(board.url, reset=True)["build"] == fw_old.build_id
    # And the next flash completes from wherever the cut left the spare slot.
    report = flash(board.url, fw_src)
    assert report.confirmed and report.slot == "b"
    assert running_build(board.url)["build"] == fw_src.build_id


def test_power_cut_mid_transfer_boots_old_firmware(tmp_path, fw_old, fw_src, update_bytes):
    image = tmp_path / "flash.img"
    b = VBoardProcess(image)
    try:
        flash(b.url, fw_old)
        with pytest.raises(PumpctlError):
            flash(b.url, fw_src, cut_after=update_bytes // 2)
    finally:
        b.stop()  # SIGKILL of the board process mid-agent: a power cut
    again = VBoardProcess(image)
    try:
        assert running_build(again.url)["build"] == fw_old.build_id
    finally:
        again.stop()


def test_cli_flash_prints_a_summary(board):
    run = subprocess.run(
        [*pumpctl_argv(), "flash", "--port", board.url, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "confirmed running" in run.stdout and "slot a" in run.stdout


def test_cli_flash_to_nowhere_is_a_clean_error():
    run = subprocess.run(
        [*pumpctl_argv(), "flash", "--port", "socket://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert run.stderr.startswith("pumpctl: cannot open socket://127.0.0.1:1")
    assert "Traceback" not in run.stderr


def test_mpremote_still_works_after_maintenance(board, fw_old):
    """After our flash the firmware runs with Ctrl-C off; maintenance hands the link back."""
    flash(board.url, fw_old)
    link = Link.open(board.url)
    try:
        assert Flasher(link, CHUNK).maintenance()
    finally:
        link.close()
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "mpremote"),
            "connect",
            board.url,
            "fs",
            "cat",
            ":/fw/active",
        ],
        capture_output=True,
        timeout=30,
    )
    assert out.returncode == 0 and out.stdout.strip() == b"a"


def test_sources_with_empty_files_flash_and_run(board, fw_src):
    assert any(not f.data for f in fw_src.files)  # e.g. boards/emu/__init__.py
    report = flash(board.url, fw_src)
    assert report.confirmed
    assert running_build(board.url)["build"] == fw_src.build_id


def test_device_key_is_provisioned_then_required(board, fw_old, tmp_path):
    """SEC-1: after `flash --key`, delivery commands and maintenance need signed frames,
    replays are refused, and a reboot (new session nonce) kills recorded frames."""
    from pumpctl.keys import Signer
    from pumpctl.monitor.session import Session

    key = bytes(range(32))
    link = Link.open(board.url)
    try:
        assert Flasher(link, CHUNK, key=key).run(fw_old).confirmed
    finally:
        link.close()

    def exchange(signer_key, lines=None):
        frames: list = []
        session = Session(board.url, frames.append, lambda note: None, signer_key)
        try:
            deadline = time.monotonic() + 15
            session.poll()  # connect
            while session.signer.auth is None and signer_key and time.monotonic() < deadline:
                session.poll()
            if lines is None:
                seq = session.command("bolus", {"amount_u": 0.1})
                line = None
            else:
                seq, line = 900, lines
                session.link.write(line)
            while time.monotonic() < deadline:
                session.poll()
                answer = [
                    f for f in frames if f.seq == seq and f.kind in (proto.RESPONSE, proto.ERROR)
                ]
                if answer:
                    return answer[0], session.signer
        finally:
            session.close()
        raise AssertionError("no answer")

    status = running_build(board.url)
    assert len(status["nonce"]) == 16
    unsigned, _ = exchange(None)
    assert unsigned.kind == proto.ERROR and unsigned.body["error"] == "auth_required"
    signed, signer = exchange(key)
    assert signed.kind == proto.RESPONSE and signed.body["ok"]
    recorded = signer.auth and proto.encode(
        proto.COMMAND, 900, {"cmd": "cancel_bolus"}, auth=signer.auth, counter=1
    )  # counter reused
    replayed, _ = exchange(None, recorded)
    assert replayed.body["error"] == "replayed"
    forged = Signer(b"\x00" * 32)
    forged.on_status(running_build(board.url))
    bad, _ = exchange(None, forged.encode(900, {"cmd": "suspend", "args": {}}))
    assert bad.body["error"] == "bad_auth"

    for wrong, message in ((None, "pass --key"), (b"\x01" * 32, "bad_auth")):
        link = Link.open(board.url)
        try:
            with pytest.raises(PumpctlError, match=message):
                Flasher(link, CHUNK, key=wrong).run(fw_old)
        finally:
            link.close()
    link = Link.open(board.url)
    try:
        again = Flasher(link, CHUNK, key=key).run(fw_old)  # the right key: maintenance, reset
    finally:
        link.close()
    assert again.unchanged and again.confirmed
    fresh = Signer(key)
    fresh.on_status(running_build(board.url))
    assert fresh.auth.nonce != signer.auth.nonce  # a new boot, a new session
    stale, _ = exchange(
        None, proto.encode(proto.COMMAND, 900, {"cmd": "resume"}, auth=signer.auth, counter=99)
    )
    assert stale.body["error"] == "bad_auth"
