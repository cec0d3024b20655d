"""Framed telemetry and commands on the serial link the REPL also uses.

One frame is one line of printable ASCII, so it can share the link with REPL
text and can never carry a control byte (Ctrl-A..Ctrl-E) that would drive a
REPL it reaches by accident::

    RS base64(header payload [auth] crc) LF        RS = 0x1E, LF = 0x0A

    header  ver:u8 kind:u8 flags:u8 seq:u16 len:u16   (little-endian)
    payload len bytes of UTF-8 JSON, always an object
    auth    counter:u32 mac:16 bytes  (only when flags & FLAG_AUTH)
    crc     CRC-32 (IEEE, binascii.crc32) of everything before it, u32

Every malformed frame gets an ERROR frame naming what is wrong (REL-2); the
reader never raises on input. docs/protocol.md is the reference. Portable:
MicroPython (firmware) and CPython (host tools, hypothesis tests).
"""

import binascii
import hashlib
import json
import struct

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(value):
        return value


VERSION = const(1)
RS = const(0x1E)
LF = const(0x0A)
HEADER = "<BBBHH"
HEADER_LEN = const(7)
CRC_LEN = const(4)
AUTH_LEN = const(20)  # counter u32 + 16-byte truncated HMAC-SHA256
MAX_PAYLOAD = const(768)  # bytes of JSON; keeps a frame line under 1.1 KB
MAX_LINE = const(1100)  # base64 characters between RS and LF

# Frame kinds
STATUS = const(1)  # device -> host, periodic
EVENT = const(2)  # device -> host, one event-log line
COMMAND = const(3)  # host -> device
RESPONSE = const(4)  # device -> host, answers COMMAND with the same seq
ERROR = const(5)  # either way: the frame with this seq (0 if unknown) was bad
KINDS = (STATUS, EVENT, COMMAND, RESPONSE, ERROR)
KIND_NAMES = {STATUS: "status", EVENT: "event", COMMAND: "command",
              RESPONSE: "response", ERROR: "error"}

FLAG_AUTH = const(0x01)
KNOWN_FLAGS = FLAG_AUTH

# Error codes carried in ERROR frames: {"error": code, "detail": text}
E_TOO_LONG = "too_long"
E_BASE64 = "bad_base64"
E_SHORT = "too_short"
E_CRC = "bad_crc"
E_VERSION = "bad_version"
E_KIND = "bad_kind"
E_FLAGS = "bad_flags"
E_LENGTH = "bad_length"
E_JSON = "bad_json"
E_AUTH = "bad_auth"
E_REPLAY = "replayed"
E_UNAUTH = "auth_required"
E_COMMAND = "bad_command"

_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def _dumps(body):  # pyright: ignore[reportRedeclaration]
    return json.dumps(body)


# ensure_ascii is CPython-only (the stub check flags it): probed, used only where it exists.
try:
    json.dumps("", ensure_ascii=False)  # pyright: ignore[reportCallIssue]

    def _dumps(body):  # noqa: F811
        # Raw UTF-8, not \u escapes: MicroPython does not join escaped
        # surrogate pairs, so a character outside the BMP would not survive.
        return json.dumps(body, ensure_ascii=False)  # pyright: ignore[reportCallIssue]

except TypeError:  # MicroPython: no ensure_ascii, writes UTF-8 already
    pass


class Frame:
    """A decoded frame: ``kind``, ``seq``, ``body`` (dict), ``counter`` if authenticated."""

    def __init__(self, kind, seq, body, flags=0, counter=None):
        self.kind = kind
        self.seq = seq
        self.body = body
        self.flags = flags
        self.counter = counter

    def __repr__(self):
        return "Frame(%s, seq=%d, %r)" % (KIND_NAMES.get(self.kind, self.kind), self.seq, self.body)


class FrameError(Exception):
    """A bad frame: ``code`` (E_*), ``detail`` (human text), ``seq`` (0 if unknown)."""

    def __init__(self, code, detail, seq=0):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.seq = seq


def hmac_sha256(key, msg):
    """HMAC-SHA256 (RFC 2104); MicroPython has hashlib.sha256 but no hmac."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + msg).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def _same(a, b):
    """Constant-time compare (no early exit on the first differing byte)."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


class Auth:
    """SEC-1 hook: HMAC-SHA256 over header+payload+counter, counter strictly increasing.

    ``key`` is the per-device key provisioned at flash time. The receiver
    refuses a counter not above the last accepted one (replay). Persisting
    ``last_counter`` across resets is the caller's job (journal).
    """

    def __init__(self, key, last_counter=0):
        self.key = key
        self.last_counter = last_counter

    def tag(self, signed, counter):
        return hmac_sha256(self.key, signed + struct.pack("<I", counter))[:16]

    def check(self, signed, counter, mac, seq):
        if not _same(self.tag(signed, counter), mac):
            raise FrameError(E_AUTH, "authentication tag does not match", seq)
        if counter <= self.last_counter:
            raise FrameError(E_REPLAY, "counter %d not above %d" % (counter, self.last_counter),
                             seq)
        self.last_counter = counter


def encode(kind, seq, body, auth=None, counter=0):
    """One frame line (bytes, RS ... LF). ``auth`` + ``counter`` sign it."""
    payload = _dumps(body).encode()
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes over %d" % (len(payload), MAX_PAYLOAD))
    flags = FLAG_AUTH if auth is not None else 0
    raw = struct.pack(HEADER, VERSION, kind, flags, seq & 0xFFFF, len(payload)) + payload
    if auth is not None:
        raw += struct.pack("<I", counter) + auth.tag(raw, counter)
    raw += struct.pack("<I", binascii.crc32(raw) & 0xFFFFFFFF)
    return b"\x1e" + binascii.b2a_base64(raw, newline=False) + b"\n"


def decode_line(line, auth=None, require_auth=False):
    """Decode the base64 text between RS and LF; raises FrameError."""
    if len(line) > MAX_LINE:
        raise FrameError(E_TOO_LONG, "frame of %d characters over %d" % (len(line), MAX_LINE))
    if len(line) % 4:
        raise FrameError(E_BASE64, "length %d is not a multiple of 4" % len(line))
    for c in line:
        if c not in _B64:
            raise FrameError(E_BASE64, "byte 0x%02x is not base64" % c)
    try:
        raw = binascii.a2b_base64(line)
    except ValueError:
        raise FrameError(E_BASE64, "undecodable base64") from None
    if len(raw) < HEADER_LEN + CRC_LEN:
        raise FrameError(E_SHORT, "%d bytes, a frame has at least %d" % (
            len(raw), HEADER_LEN + CRC_LEN))
    crc = struct.unpack("<I", raw[-CRC_LEN:])[0]
    if binascii.crc32(raw[:-CRC_LEN]) & 0xFFFFFFFF != crc:
        raise FrameError(E_CRC, "CRC mismatch")
    ver, kind, flags, seq, length = struct.unpack(HEADER, raw[:HEADER_LEN])
    if ver != VERSION:
        raise FrameError(E_VERSION, "version %d, this side speaks %d" % (ver, VERSION), seq)
    if kind not in KINDS:
        raise FrameError(E_KIND, "unknown kind %d" % kind, seq)
    if flags & ~KNOWN_FLAGS:
        raise FrameError(E_FLAGS, "unknown flags 0x%02x" % flags, seq)
    extra = AUTH_LEN if flags & FLAG_AUTH else 0
    if length > MAX_PAYLOAD or HEADER_LEN + length + extra + CRC_LEN != len(raw):
        raise FrameError(E_LENGTH, "length field %d does not match the frame" % length, seq)
    end = HEADER_LEN + length
    counter = None
    if flags & FLAG_AUTH:
        counter = struct.unpack("<I", raw[end:end + 4])[0]
        if auth is None:
            raise FrameError(E_AUTH, "authenticated frame but no key here", seq)
        auth.check(raw[:end], counter, raw[end + 4:end + AUTH_LEN], seq)
    elif require_auth:
        raise FrameError(E_UNAUTH, "this command needs an authenticated frame", seq)
    try:
        body = json.loads(raw[HEADER_LEN:end])
    except Exception:  # ValueError, UnicodeError, MemoryError, RuntimeError (nesting)
        raise FrameError(E_JSON, "payload is not valid JSON", seq) from None
    if not isinstance(body, dict):
        raise FrameError(E_JSON, "payload is not a JSON object", seq)
    return Frame(kind, seq, body, flags, counter)


def error_body(err):
    return {"error": err.code, "detail": err.detail}


class FrameReader:
    """Splits a byte stream into frames, frame errors and other text.

    ``feed(data)`` returns a list of items, each one of:
    ``("frame", Frame)``, ``("error", FrameError)``, ``("text", bytes)``.
    Text is what is not a frame (REPL output, prints), passed on so a
    terminal view can show it. Memory is bounded by MAX_LINE.
    """

    def __init__(self, auth=None, keep_text=True):
        self.auth = auth
        self.keep_text = keep_text
        self.in_frame = False
        self.buf = bytearray()
        self.overflow = False

    def feed(self, data):
        if isinstance(data, memoryview):
            data = bytes(data)  # memoryview has no find()
        out = []
        i = 0
        n = len(data)
        while i < n:
            if not self.in_frame:
                j = data.find(b"\x1e", i)
                if j < 0:
                    if self.keep_text:
                        out.append(("text", bytes(data[i:])))
                    return out
                if self.keep_text and j > i:
                    out.append(("text", bytes(data[i:j])))
                self.in_frame = True
                self.buf = bytearray()
                self.overflow = False
                i = j + 1
                continue
            j = data.find(b"\n", i)
            k = data.find(b"\x1e", i)
            if 0 <= k and (j < 0 or k < j):
                # A new frame starts before this one ended: this one is cut short.
                self._append(data[i:k])
                out.append(("error", FrameError(E_SHORT, "frame cut short by a new frame")))
                self.in_frame = False
                i = k
                continue
            if j < 0:
                self._append(data[i:])
                return out
            self._append(data[i:j])
            line = bytes(self.buf)
            self.buf = bytearray()
            self.in_frame = False
            i = j + 1
            if line.endswith(b"\r"):
                line = line[:-1]  # a terminal that added CR
            if self.overflow:
                out.append(("error", FrameError(E_TOO_LONG, "frame over %d characters"
                                                % MAX_LINE)))
                continue
            try:
                out.append(("frame", decode_line(line, self.auth)))
            except FrameError as e:
                out.append(("error", e))
        return out

    def _append(self, chunk):
        if self.overflow:
            return
        if len(self.buf) + len(chunk) > MAX_LINE:
            self.overflow = True
            self.buf = bytearray()
            return
        self.buf.extend(chunk)


class DeviceLink:
    """The firmware end of the link: commands in, responses and telemetry out.

    ``write(bytes)`` sends on the link; ``handler(name, args)`` is
    ``App.command`` and returns ``(ok, reason)``. Every COMMAND frame gets
    exactly one RESPONSE with its seq; every bad frame gets one ERROR. Names in
    ``auth_required`` (commands that change delivery, SEC-1) are refused unless
    the frame was authenticated with ``auth``.
    """

    def __init__(self, write, handler, auth=None, auth_required=()):
        self.write = write
        self.handler = handler
        self.reader = FrameReader(auth, keep_text=False)
        self.auth_required = auth_required
        self.tx_seq = 0
        self.enabled = True  # telemetry; off in maintenance so the REPL has the link
        self.errors = 0

    def feed(self, data):
        for item in self.reader.feed(data):
            if item[0] == "frame":
                self._command(item[1])
            elif item[0] == "error":
                self._error(item[1])

    def _command(self, frame):
        if frame.kind != COMMAND:
            self._error(FrameError(E_KIND, "a device accepts only command frames", frame.seq))
            return
        name = frame.body.get("cmd")
        args = frame.body.get("args", {})
        if not isinstance(name, str) or not isinstance(args, dict):
            self._error(FrameError(E_COMMAND, "need {\"cmd\": str, \"args\": object}", frame.seq))
            return
        if name in self.auth_required and frame.counter is None:
            self._error(FrameError(E_UNAUTH, "%s needs an authenticated frame" % name, frame.seq))
            return
        try:
            ok, reason = self.handler(name, args)
        except Exception as e:  # a bug in a handler must not stop the link (REL-2)
            ok, reason = False, "internal error: %s" % type(e).__name__
        self.write(encode(RESPONSE, frame.seq, {"cmd": name, "ok": bool(ok), "reason": reason}))

    def _error(self, err):
        self.errors += 1
        self.write(encode(ERROR, err.seq, error_body(err)))

    def _next_seq(self):
        self.tx_seq = (self.tx_seq + 1) & 0xFFFF
        return self.tx_seq

    def status(self, fields):
        """Send one STATUS frame (fields: a flat dict of ints/strings)."""
        if self.enabled:
            self.write(encode(STATUS, self._next_seq(), fields))

    def event(self, line):
        """Send one event-log line as an EVENT frame."""
        if self.enabled:
            self.write(encode(EVENT, self._next_seq(), {"line": line}))
