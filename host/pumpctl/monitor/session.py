"""The monitor's link to one board: it survives the link (a board reset, a pulled cable: it says
so and reconnects), numbers and signs the commands it sends, and hands every frame on.

When no pump frame comes, it finds out why rather than showing dashes: after PROBE_AFTER_S it
asks for a status frame and sends a carriage return (a MicroPython REPL answers it with its
prompt; the pump firmware ignores a byte outside a frame). A REPL prompt means no pump firmware
is running, and the note names the command that flashes it; silence until SILENT_AFTER_S gets a
note saying what was tried and what came back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import proto
from ..errors import PumpctlError
from ..keys import Signer
from ..link import Link

PROBE_AFTER_S = 2.0  # a running pump sends a status frame every second
SILENT_AFTER_S = 5.0
REPL_SIGNS = (b">>> ", b"raw REPL")  # the friendly prompt, the raw REPL's banner
BOARD_KINDS = (proto.STATUS, proto.EVENT, proto.RESPONSE, proto.ERROR)  # what firmware sends


class Session:
    """A link to one board that reconnects by itself; frames go to ``on_frame``."""

    def __init__(self, port: str, on_frame: Callable[[proto.Frame], None],
                 on_note: Callable[[str], None], key: bytes | None = None):
        self.port = port
        self.on_frame = on_frame
        self.on_note = on_note
        self.signer = Signer(key)
        self.link: Link | None = None
        self.reader = proto.FrameReader()
        self.seq = 0
        self.connected_once = False
        self.retry_at = 0.0
        self.last_frame = time.monotonic()
        self.pending: dict[int, str] = {}  # seq -> command name awaiting a response
        self._new_connection()

    def _new_connection(self) -> None:
        """Forget what the last connection showed: each one must show a pump again."""
        self.connected_at = time.monotonic()
        self.answered = False  # a frame from the pump firmware came on this connection
        self.probed = False
        self.told = False  # the note on a board that does not answer was given
        self.received = 0  # bytes that were not pump frames
        self.tail = b""  # the last of them
    def _connect(self) -> None:
        if time.monotonic() < self.retry_at:
            return
        try:
            self.link = Link.open(self.port)
        except PumpctlError as e:
            if not self.connected_once:
                raise
            self.retry_at = time.monotonic() + 0.5
            self.on_note(f"waiting for {self.port}: {e}")
            return
        self.reader = proto.FrameReader()
        self.on_note(("reconnected to " if self.connected_once else "connected to ") + self.port)
        self.connected_once = True
        self.last_frame = time.monotonic()
        self._new_connection()

    def _drop(self, why: str) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None
        self.on_note(f"link lost ({why}); reconnecting")
        self.retry_at = time.monotonic() + 0.2

    def poll(self) -> list[tuple[str, object]]:
        """Read what the board sent; returns the reader items (frames, errors, text)."""
        if self.link is None:
            self._connect()
            if self.link is None:
                time.sleep(0.05)
                return []
        try:
            data = self.link.read_available()
        except PumpctlError as e:
            self._drop(str(e))
            return []
        items = self.reader.feed(data)
        for kind, item in items:
            if kind == "frame" and item.kind in BOARD_KINDS:
                self.last_frame = time.monotonic()
                if not self.answered and self.told:
                    self.on_note(f"{self.port}: the pump firmware answers now")
                self.answered = True
                if item.kind == proto.STATUS:
                    self.signer.on_status(item.body)
                self.on_frame(item)
            elif kind == "text" or kind == "frame":  # a command frame is our own, echoed
                raw = item if kind == "text" else b"(a command frame echoed back)"
                self.received += len(raw)
                self.tail = (self.tail + raw)[-200:]
        if not self.answered and not self.told:
            self._find_out_why()
        return items

    def _find_out_why(self) -> None:
        """No pump frame yet on this connection: probe, then say what the board is doing."""
        if any(sign in self.tail for sign in REPL_SIGNS):
            self.told = True
            self.on_note(
                f"{self.port}: the board answers with the MicroPython REPL and sends no pump "
                "frames: no pump firmware is running (a blank board, or one left in "
                f"maintenance). Flash it: pumpctl flash --port {self.port}"
            )
            return
        waited = time.monotonic() - self.connected_at
        if not self.probed and waited >= PROBE_AFTER_S:
            self.probed = True
            try:
                self.command("status")
                assert self.link is not None
                self.link.write(b"\r")
            except PumpctlError as e:
                self._drop(str(e))
        elif self.probed and waited >= SILENT_AFTER_S:
            self.told = True
            got = "nothing" if not self.received else (
                f"{self.received} bytes, neither a pump frame nor a REPL prompt "
                f"(the last: {self.tail[-60:]!r})")
            self.on_note(
                f"{self.port}: no answer in {SILENT_AFTER_S:.0f} s. Tried: opened the port, "
                "waited for the status frame a pump sends every second, sent a status request "
                "and a carriage return (a REPL shows its prompt); received " + got + ". Check "
                "the port and that the board is powered; a board with MicroPython but no pump "
                f"firmware: pumpctl flash --port {self.port}"
            )

    def command(self, name: str, args: dict | None = None) -> int:
        """Send a command frame; its response arrives later through ``on_frame``."""
        if self.link is None:
            raise PumpctlError("not connected")
        self.seq = (self.seq + 1) & 0xFFFF or 1
        self.link.write(self.signer.encode(self.seq, {"cmd": name, "args": args or {}}))
        self.pending[self.seq] = name
        return self.seq

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None
