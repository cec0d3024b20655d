"""pumpctl monitor on a board that sends no pump frames says why, instead of a screen of dashes:
a blank board (MicroPython REPL, no pump firmware) gets the command that flashes it, a board that
does not answer at all gets what was tried (host/pumpctl/monitor/session.py)."""

from __future__ import annotations

import socket
import threading

from test_monitor import MonitorProcess
from vboard_helpers import VBoardProcess


def test_a_blank_board_is_named_with_the_command_that_flashes_it(tmp_path):
    board = VBoardProcess(tmp_path / "flash.img")  # a new image: MicroPython, no pump firmware
    mon = MonitorProcess("--port", board.url, "--duration", "30")
    try:
        mon.wait_stderr(f"Flash it: pumpctl flash --port {board.url}", timeout=25)
        assert "no pump firmware is running" in mon.err
        assert "no answer" not in mon.err
    finally:
        mon.kill()
        board.stop()


def test_a_board_that_does_not_answer_is_told_with_what_was_tried():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    heard = bytearray()

    def silent_board() -> None:  # accepts the connection, reads everything, says nothing
        conn, _ = server.accept()
        conn.settimeout(20)
        try:
            while chunk := conn.recv(4096):
                heard.extend(chunk)
        except OSError:
            pass
        conn.close()

    thread = threading.Thread(target=silent_board, daemon=True)
    thread.start()
    url = f"socket://127.0.0.1:{port}"
    mon = MonitorProcess("--port", url, "--duration", "30")
    try:
        mon.wait_stderr("no answer in 5 s", timeout=25)
        mon.wait_stderr("received nothing")
        assert "sent a status request and a carriage return" in mon.err
        assert f"pumpctl flash --port {url}" in mon.err
    finally:
        mon.kill()
        server.close()
    thread.join(5)
    assert b"\x1e" in heard and b"\r" in heard  # the probe really went out: a frame, then CR
