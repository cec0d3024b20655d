"""Boot the MCU image under qemu-system-arm and run code on it over its UART (raw REPL).

The UART is the emulator's stdin/stdout (pipes). QEMU counts instructions (``-icount
shift=0``: one instruction = 1 ns of the board's clock), so time measured on the board is
work done, the same on a loaded and an idle host.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable

from pumpctl.errors import PumpctlError

from .build import Image
from .toolchain import QEMU

MACHINE = "mps2-an385"
ROMFS_ADDR = 0x21000000  # MICROPY_HW_ROMFS_PART0_START of the board
BANNER = b">>> "
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
BOOT_TIMEOUT_S = 60.0


class BoardError(PumpctlError):
    """The emulated board did not answer, or the code run on it raised."""


def qemu_command(image: Image, serial: str = "stdio", count_instructions: bool = True) -> list[str]:
    """qemu-system-arm booting ``image``; the UART on ``serial`` ("stdio": our pipes, no mux, so
    Ctrl-A reaches the board; "pty": a pseudo-terminal). ``count_instructions``: the board's
    clock counts instructions (-icount shift=0), else it follows the host's (real time)."""
    cmd = [QEMU, "-machine", MACHINE, "-display", "none", "-monitor", "none"]
    cmd += ["-serial", serial, "-semihosting"]
    if count_instructions:
        cmd += ["-icount", "shift=0"]
    cmd += ["-kernel", str(image.elf)]
    cmd += ["-device", f"loader,file={image.romfs},addr={ROMFS_ADDR:#x},force-raw=on"]
    return cmd


class Board:
    """One emulated board; use as a context manager so qemu always stops."""

    def __init__(self, image: Image):
        self.image = image
        self.proc = subprocess.Popen(
            qemu_command(image), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self.pending = b""

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _read(self, timeout: float) -> bytes:
        """Bytes from the UART within ``timeout`` s (b'' if none); BoardError if qemu exits."""
        out = self.proc.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], timeout)
        if not ready:
            return b""
        data = os.read(out.fileno(), 65536)
        if not data:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            self.proc.wait()
            raise BoardError(
                f"qemu stopped (exit {self.proc.returncode})" + (f": {err.strip()}" if err else "")
            )
        return data

    def read_until(self, marker: bytes, timeout: float) -> bytes:
        """Everything up to and including ``marker``; BoardError after ``timeout`` s."""
        end = time.monotonic() + timeout
        buf = self.pending
        while marker not in buf:
            left = end - time.monotonic()
            if left <= 0:
                raise BoardError(f"the board did not answer {marker!r} within {timeout:.0f} s")
            buf += self._read(min(left, 1.0))
        cut = buf.index(marker) + len(marker)
        self.pending = buf[cut:]
        return buf[:cut]

    def write(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def enter_raw_repl(self) -> None:
        self.read_until(BANNER, BOOT_TIMEOUT_S)
        self.write(b"\x01")
        self.read_until(RAW_PROMPT, BOOT_TIMEOUT_S)

    def exec_streaming(
        self,
        code: str,
        sink: Callable[[bytes], None],
        timeout: float | None = None,
        stdin: bytes = b"",
    ) -> None:
        """Run ``code`` in the raw REPL, then send ``stdin``; output goes to ``sink`` as it comes.

        A traceback on the board becomes a BoardError carrying the board's error text."""
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", BOOT_TIMEOUT_S)
        if stdin:
            self.write(stdin)
        end = None if timeout is None else time.monotonic() + timeout
        buf = self.pending
        self.pending = b""
        while b"\x04" not in buf:
            if buf:
                sink(buf)
                buf = b""
            if end is not None and time.monotonic() > end:
                raise BoardError(f"the run on the board did not end within {timeout:.0f} s")
            buf = self._read(1.0)
        cut = buf.index(b"\x04")
        if cut:
            sink(buf[:cut])
        self.pending = buf[cut + 1 :]
        error = self.read_until(b"\x04", BOOT_TIMEOUT_S)[:-1].decode(errors="replace").strip()
        if error:
            raise BoardError(error)
