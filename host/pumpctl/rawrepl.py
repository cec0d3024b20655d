"""The MicroPython raw REPL over a Link: enter, soft reset, exec with raw-paste.

The protocol is the one every MicroPython port speaks (shared/runtime/pyexec.c):
Ctrl-A enters the raw REPL, Ctrl-D executes (or, on an empty buffer, soft
resets), ``\\x05A\\x01`` switches to raw-paste mode with flow control, and a
run's output ends with ``\\x04`` + its error text + ``\\x04``.
"""

from __future__ import annotations

import struct

from .errors import PumpctlError
from .link import Link, LinkTimeout

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


class ReplError(PumpctlError):
    """The board's REPL did not answer as expected."""


class DeviceError(PumpctlError):
    """Code run on the board raised: ``text`` is the board's traceback."""


class RawRepl:
    def __init__(self, link: Link):
        self.link = link
        self.raw_paste = True

    def enter(self, soft_reset: bool = True, timeout: float = 10.0) -> None:
        """Interrupt what runs, enter the raw REPL, optionally soft reset in it."""
        link = self.link
        link.write(b"\r\x03\x03")
        link.drain(quiet=0.05, overall=2.0)
        link.write(b"\r\x01")
        try:
            link.read_until(RAW_PROMPT, timeout=timeout)
            if soft_reset:
                link.write(b"\x04")
                link.read_until(b"soft reboot\r\n", timeout=timeout)
                link.read_until(RAW_PROMPT, timeout=timeout)
        except LinkTimeout as e:
            raise ReplError(f"could not enter the raw REPL (is the firmware still running "
                            f"with Ctrl-C disabled?): {e}") from None

    def exit(self) -> None:
        self.link.write(b"\r\x02")

    def soft_reset_friendly(self, timeout: float = 10.0) -> None:
        """Leave the raw REPL and soft reset: the board boots boot.py and main.py."""
        self.link.write(b"\r\x02")
        self.link.read_until(b">>> ", timeout=timeout)
        self.link.write(b"\x04")

    def exec_start(self, code: bytes, timeout: float = 10.0) -> None:
        """Send ``code`` for execution; its output is then read from the link."""
        link = self.link
        if self.raw_paste:
            link.write(b"\x05A\x01")
            reply = link.read_exact(2, timeout=timeout)
            if reply == b"R\x01":
                self._raw_paste(code, timeout)
                return
            if reply != b"R\x00":
                link.read_until(RAW_PROMPT, timeout=timeout)  # an old port echoed the bytes
            self.raw_paste = False
        for i in range(0, len(code), 256):
            link.write(code[i : i + 256])
        link.write(b"\x04")
        if link.read_exact(2, timeout=timeout) != b"OK":
            raise ReplError("the raw REPL did not accept the code")

    def _raw_paste(self, code: bytes, timeout: float) -> None:
        link = self.link
        window = struct.unpack("<H", link.read_exact(2, timeout=timeout))[0]
        credit = window
        i = 0
        while i < len(code):
            # Take any flow-control bytes waiting; block for one while out of credit.
            while credit == 0 or link.buf or link.ser.in_waiting:
                c = link.read_exact(1, timeout=timeout)
                if c == b"\x01":
                    credit += window
                elif c == b"\x04":  # the board ended the paste early
                    link.write(b"\x04")
                    return
                else:
                    raise ReplError(f"unexpected {c!r} from the board during raw paste")
            n = min(credit, len(code) - i)
            link.write(code[i : i + n])
            credit -= n
            i += n
        link.write(b"\x04")
        link.read_until(b"\x04", timeout=timeout)

    def exec_end(self, timeout: float = 10.0) -> bytes:
        """Read the rest of a run: its output, then raise DeviceError if it failed."""
        out = self.link.read_until(b"\x04", timeout=timeout)[:-1]
        err = self.link.read_until(b"\x04", timeout=timeout)[:-1]
        self.link.read_until(b">", timeout=timeout)
        if err:
            raise DeviceError(err.decode(errors="replace").strip())
        return out

    def exec(self, code: str | bytes, timeout: float = 10.0) -> bytes:
        self.exec_start(code.encode() if isinstance(code, str) else code, timeout)
        return self.exec_end(timeout)
