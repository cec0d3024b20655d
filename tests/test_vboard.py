"""End to end: the emulated board on a real pty and TCP socket, driven by the
real mpremote CLI (no ``resume``) and by raw pyserial."""

from __future__ import annotations

import hashlib

import pytest
from pumpctl.link import Link
from vboard_helpers import VBoardProcess


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    b = VBoardProcess(tmp_path_factory.mktemp("vboard") / "flash.img")
    yield b
    b.stop()


@pytest.fixture
def fresh_board(tmp_path):
    b = VBoardProcess(tmp_path / "flash.img")
    yield b
    b.stop()


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


@pytest.mark.parametrize("endpoint", ["url", "pty"])
def test_mpremote_exec(board, endpoint):
    out = ok(board.mpremote("exec", "print('sum', 40 + 2)", port=getattr(board, endpoint)))
    assert "sum 42" in out


@pytest.mark.parametrize("endpoint", ["url", "pty"])
def test_mpremote_fs_cp_ls_sha256sum(board, tmp_path, endpoint):
    payload = bytes(range(256)) * 40 + b"end"  # binary, > one raw-paste window
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    port = getattr(board, endpoint)
    ok(board.mpremote("fs", "cp", str(src), f":{endpoint}.bin", port=port))
    listing = ok(board.mpremote("fs", "ls", ":", port=port))
    assert f"{len(payload)} {endpoint}.bin" in " ".join(listing.split())
    digest = ok(board.mpremote("fs", "sha256sum", f":{endpoint}.bin", port=port))
    assert hashlib.sha256(payload).hexdigest() in digest
    back = tmp_path / "back.bin"
    ok(board.mpremote("fs", "cp", f":{endpoint}.bin", str(back), port=port))
    assert back.read_bytes() == payload


def test_mpremote_run_and_soft_reset(board, tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import sys\nprint('ran on', sys.platform, 6 * 7)\n")
    out = ok(board.mpremote("soft-reset", "+", "run", str(script)))
    assert "ran on linux 42" in out


def test_files_are_on_the_littlefs_image_not_the_host(board):
    out = ok(board.mpremote("exec", "import os, vfs; print(vfs.mount()); print(os.listdir('/'))"))
    assert "VfsLfs2" in out
    assert "'usr'" not in out and "'tmp'" not in out  # the host root is not visible


def test_flash_persists_across_power_cycles(tmp_path):
    image = tmp_path / "flash.img"
    first = VBoardProcess(image)
    try:
        ok(first.mpremote("exec", "with open('kept.txt', 'w') as f: f.write('still here')"))
    finally:
        first.stop()
    second = VBoardProcess(image)
    try:
        assert "still here" in ok(second.mpremote("exec", "print(open('kept.txt').read())"))
    finally:
        second.stop()


def _friendly_prompt(link: Link) -> None:
    link.write(b"\r\x03\x02")
    link.read_until(b">>> ", timeout=10)
    link.drain()


def test_soft_reset_runs_boot_then_main_friendly_only_boot_raw(fresh_board):
    b = fresh_board
    # Files left open are finalised by a soft reset, as on a board.
    ok(
        b.mpremote(
            "exec",
            "open('boot.py','w').write('print(\"BOOT\")\\n');"
            "open('main.py','w').write('print(\"MAIN\")\\n')",
        )
    )
    link = Link.open(b.url)
    try:
        _friendly_prompt(link)
        link.write(b"\x04")  # friendly soft reset: boot.py, main.py, banner
        out = link.read_until(b">>> ", timeout=15)
        assert out.index(b"MPY: soft reboot\r\n") < out.index(b"BOOT") < out.index(b"MAIN")
        link.write(b"\x01")
        link.read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout=10)
        link.write(b"\x04")  # raw soft reset: boot.py only, back in the raw REPL
        out = link.read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout=15)
        assert out.startswith(b"OK\r\nMPY: soft reboot\r\n")
        assert b"BOOT" in out and b"MAIN" not in out and b">>> " not in out
        link.write(b"print('after', 1)\x04")
        assert link.read_until(b"\x04>", timeout=10) == b"OKafter 1\r\n\x04\x04>"  # cooked
    finally:
        link.close()


def test_ctrl_c_is_not_a_signal_before_the_unix_port_takes_it():
    """A Ctrl-C relayed while the board's process still starts must not kill it: until the
    Unix port installs its SIGINT handler, the relay writes the byte instead (a starting
    CPython launcher stands in here, slowed so the window is certain to be open)."""
    import sys
    import time

    from pumpctl.vboard import BoardProcess

    board = BoardProcess([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.0)  # CPython is up: it would have caught SIGINT by now
        assert board.proc.poll() is None
        assert not board.executing_with_sigint()
    finally:
        board.stop()


def test_ctrl_c_interrupts_main_when_firmware_allows(fresh_board):
    b = fresh_board
    main = "import time\nprint('LOOP')\nwhile True:\n    time.sleep_ms(20)\n"
    ok(b.mpremote("exec", f"open('main.py','w').write({main!r})"))
    link = Link.open(b.url)
    try:
        _friendly_prompt(link)
        link.write(b"\x04")
        link.read_until(b"LOOP", timeout=15)
        link.write(b"\x03")
        out = link.read_until(b">>> ", timeout=10)
        assert b"KeyboardInterrupt" in out
    finally:
        link.close()
    # mpremote's own Ctrl-C gets it out of a running main.py too
    assert "ok" in ok(b.mpremote("exec", "print('ok')"))


def test_ctrl_c_is_a_data_byte_when_kbd_intr_disabled(fresh_board):
    b = fresh_board
    main = (
        "import micropython, sys, select\n"
        "micropython.kbd_intr(-1)\n"
        "print('GUARDED')\n"
        "p = select.poll()\n"
        "p.register(sys.stdin, select.POLLIN)\n"
        "while True:\n"
        "    if p.poll(50):\n"
        "        c = sys.stdin.buffer.read(1)\n"
        "        print('got', c)\n"
        "        if c == b'q':\n"
        "            break\n"
    )
    ok(b.mpremote("exec", f"open('main.py','w').write({main!r})"))
    link = Link.open(b.url)
    try:
        _friendly_prompt(link)
        link.write(b"\x04")
        link.read_until(b"GUARDED", timeout=15)
        link.write(b"\x03")
        link.read_until(b"got b'\\x03'\r\n", timeout=10)  # still running: the byte was data
        link.write(b"q")
        out = link.read_until(b">>> ", timeout=10)
        assert b"KeyboardInterrupt" not in out
    finally:
        link.close()
