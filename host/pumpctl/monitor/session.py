"""The monitor's link to one board: it survives the link (a board reset, a pulled cable: it says
so and reconnects), numbers and signs the commands it sends, and hands every frame on."""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import proto
from ..errors import PumpctlError
from ..keys import Signer
from ..link import Link


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
            if kind == "frame":
                self.last_frame = time.monotonic()
                if item.kind == proto.STATUS:
                    self.signer.on_status(item.body)
                self.on_frame(item)
        return items

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
