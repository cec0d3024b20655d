"""SEC-1 on the host: the device key and signing commands for the board's session."""

from __future__ import annotations

import secrets
from pathlib import Path

from . import proto
from .errors import UsageError

KEY_BYTES = 32


def load_key(path: Path) -> bytes:
    """A key file: 64 hex digits (one line), as `pumpctl flash --new-key` writes it."""
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise UsageError(f"--key: cannot read {path}: {e.strerror}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"--key: {path}: expected {2 * KEY_BYTES} hex digits") from None
    if len(key) != KEY_BYTES:
        raise UsageError(f"--key: {path}: expected {KEY_BYTES} bytes, got {len(key)}")
    return key


def new_key(path: Path) -> bytes:
    """Create a random key file (refuses to overwrite one)."""
    if path.exists():
        raise UsageError(f"--new-key: {path} exists; refusing to overwrite a device key")
    key = secrets.token_bytes(KEY_BYTES)
    path.write_text(key.hex() + "\n")
    path.chmod(0o600)
    return key


class Signer:
    """Signs command frames for the board's current session (nonce from its status frames)."""

    def __init__(self, key: bytes | None):
        self.key = key
        self.auth: proto.Auth | None = None
        self.counter = 0

    def on_status(self, body: dict) -> None:
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            self.auth = None  # the board has no key: commands go unsigned
            return
        try:
            raw = bytes.fromhex(nonce)
        except ValueError:
            return
        if self.key is not None and (self.auth is None or self.auth.nonce != raw):
            self.auth = proto.Auth(self.key, raw)  # a new boot: a new session
            self.counter = 0
        ctr = body.get("ctr")
        if isinstance(ctr, int) and ctr > self.counter:
            self.counter = ctr  # another host tool signed in this session already

    def encode(self, seq: int, body: dict) -> bytes:
        if self.auth is None:
            return proto.encode(proto.COMMAND, seq, body)
        self.counter += 1
        return proto.encode(proto.COMMAND, seq, body, auth=self.auth, counter=self.counter)
