"""The qemu board on a pty in real time (``pumpctl vboard --mcu``).

QEMU runs the MCU image (``make mcu``) with its UART on a pseudo-terminal
(``-serial pty``) and without ``-icount``: the board's clock follows the host's,
as a dev board on a USB serial port does. Once the REPL answers, the pump is
started from flash (``boards.emu.qemu.serve()``, the qemu board of
firmware/boards/emu/qemu.py) and the pty is left to host tools: ``pumpctl
monitor``, ``pumpctl flash``-style status reads, ``mpremote`` after
``maintenance``. With no host on the pty, QEMU drops the UART's output, as a
USB CDC port with no host does.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import termios
import time

from pumpctl.errors import PumpctlError

from .build import Image
from .qemu import RAW_PROMPT, qemu_command

PTY_LINE = re.compile(rb"char device redirected to (/dev/pts/\d+)")
START_TIMEOUT_S = 60.0


def start_pump_code(key: bytes | None = None) -> bytes:
    """What the raw REPL runs to start the pump: ``serve()`` from flash, with the device key
    to provision first when given (the board's RAM flash is blank at every start)."""
    return b"from boards.emu.qemu import serve\nserve(key=%s)\n" % repr(key).encode()



def qemu_pty_command(image: Image) -> list[str]:
    """The UART on a pty, in real time (no -icount)."""
    return qemu_command(image, serial="pty", count_instructions=False)


def _raw(fd: int) -> None:
    attrs = termios.tcgetattr(fd)
    attrs[0] = attrs[1] = attrs[3] = 0  # no input, output or local processing
    attrs[2] |= termios.CS8 | termios.CREAD
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class PtyBoard:
    """QEMU with the board's UART on ``self.pty``; ``stop()`` ends it."""

    def __init__(self, image: Image):
        self.proc = subprocess.Popen(
            qemu_pty_command(image), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.pty = ""
        seen = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.proc.stdout is not None
        while not self.pty:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise PumpctlError("qemu did not put the board on a pty: " + seen.decode(
                    errors="replace").strip())  # fmt: skip
            ready, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                seen += chunk
                found = PTY_LINE.search(seen)
                if found:
                    self.pty = found.group(1).decode()

    def _read_until(self, fd: int, marker: bytes, timeout: float) -> bytes:
        buf = b""
        end = time.monotonic() + timeout
        while marker not in buf:
            left = end - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise PumpctlError(f"the qemu board did not answer {marker!r}: {buf[-200:]!r}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                buf += os.read(fd, 4096)
        return buf

    def start_pump(self, key: bytes | None = None) -> None:
        """Through the raw REPL: run the pump from flash (``key`` provisioned first), then
        let go of the pty."""
        fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY)
        try:
            _raw(fd)
            os.write(fd, b"\r\x03\x03\x01")  # whatever ran, stop it; then the raw REPL
            self._read_until(fd, RAW_PROMPT, START_TIMEOUT_S)
            os.write(fd, start_pump_code(key) + b"\x04")
            self._read_until(fd, b"OK", START_TIMEOUT_S)
        finally:
            os.close(fd)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
