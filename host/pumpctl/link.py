"""The serial link to a board: a USB serial port, a pty or ``socket://host:port``.

Every read has a per-byte timeout and an overall deadline, so a board that
stops talking or never stops talking cannot hang a host tool.
"""

from __future__ import annotations

import time

import serial

from .errors import PumpctlError


class LinkTimeout(PumpctlError):
    """The board did not say what we waited for in time."""


def open_port(port: str, baudrate: int = 115200) -> serial.SerialBase:
    """Open a device path or pyserial URL; a failure names the port."""
    try:
        ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05, write_timeout=10)
    except (serial.SerialException, OSError, ValueError) as e:
        raise PumpctlError(f"cannot open {port}: {e}") from None
    return ser


class Link:
    """A byte stream with bounded waits on top of an open pyserial port."""

    def __init__(self, ser: serial.SerialBase, name: str = ""):
        self.ser = ser
        self.name = name or getattr(ser, "port", "") or "link"
        self.buf = bytearray()  # read but not yet consumed

    @classmethod
    def open(cls, port: str) -> Link:
        return cls(open_port(port), port)

    def write(self, data: bytes) -> None:
        try:
            self.ser.write(data)
        except (serial.SerialException, OSError) as e:
            raise PumpctlError(f"{self.name}: write failed: {e}") from None

    def _fill(self) -> bool:
        try:
            chunk = self.ser.read(max(1, self.ser.in_waiting))
        except (serial.SerialException, OSError) as e:
            raise PumpctlError(f"{self.name}: read failed: {e}") from None
        if chunk:
            self.buf += chunk
            return True
        return False

    def drain(self, quiet: float = 0.05, overall: float = 2.0) -> bytes:
        """Discard input until the line has been quiet for ``quiet`` seconds."""
        deadline = time.monotonic() + overall
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            if self._fill():
                last = time.monotonic()
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def read_until(self, ending: bytes, timeout: float = 10.0, idle: float | None = None) -> bytes:
        """Bytes up to and including ``ending``; LinkTimeout after ``timeout``
        seconds overall or ``idle`` seconds without a byte."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        start = 0
        while True:
            i = self.buf.find(ending, start)
            if i >= 0:
                out = bytes(self.buf[: i + len(ending)])
                del self.buf[: i + len(ending)]
                return out
            start = max(0, len(self.buf) - len(ending) + 1)
            now = time.monotonic()
            if now > deadline or (idle is not None and now - last > idle):
                seen = bytes(self.buf[-80:])
                raise LinkTimeout(
                    f"{self.name}: timed out waiting for {ending!r} (last bytes {seen!r})"
                )
            if self._fill():
                last = time.monotonic()

    def read_exact(self, n: int, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if time.monotonic() > deadline:
                raise LinkTimeout(f"{self.name}: timed out waiting for {n} bytes")
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_available(self) -> bytes:
        self._fill()
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def close(self) -> None:
        sock = getattr(self.ser, "_socket", None)
        if sock is not None:
            # pyserial's socket:// close() sleeps 0.3 s "for quick reconnects";
            # a host tool that exits right after does not need that.
            try:
                sock.close()
            except OSError:
                pass
            self.ser._socket = None
            self.ser.is_open = False
            return
        try:
            self.ser.close()
        except (serial.SerialException, OSError):
            pass
