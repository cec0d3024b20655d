"""pump.protocol under CPython: round trips, and fuzzing of both ends.

Device end: DeviceLink.feed answers every bad frame with one ERROR frame and
every command with one RESPONSE, whatever the bytes. Host end: FrameReader
never raises and never loses a valid frame next to garbage.
"""

from __future__ import annotations

import binascii
import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pump import protocol as P

json_scalars = st.one_of(st.integers(-(2**31), 2**31), st.text(max_size=20), st.booleans(),
                         st.none())
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
bodies = st.dictionaries(st.text(max_size=10), json_values, max_size=6).filter(
    lambda b: len(json.dumps(b, ensure_ascii=False).encode()) <= P.MAX_PAYLOAD)
kinds = st.sampled_from(P.KINDS)
seqs = st.integers(0, 0xFFFF)


def split_feed(reader: P.FrameReader, data: bytes, cuts: list[int]) -> list:
    items, last = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        items += reader.feed(data[last:cut])
        last = cut
    return items


@given(kinds, seqs, bodies, st.lists(st.integers(0, 4000), max_size=5))
def test_round_trip_in_any_chunking(kind, seq, body, cuts):
    line = P.encode(kind, seq, body)
    assert line.startswith(b"\x1e") and line.endswith(b"\n")
    assert all(32 <= b < 127 for b in line[1:-1])  # printable: safe next to a REPL
    items = split_feed(P.FrameReader(), b"noise>>> " + line + b"more", cuts)
    frames = [i[1] for i in items if i[0] == "frame"]
    assert len(frames) == 1 and [i for i in items if i[0] == "error"] == []
    assert (frames[0].kind, frames[0].seq, frames[0].body) == (kind, seq, body)
    assert b"".join(i[1] for i in items if i[0] == "text") == b"noise>>> more"


@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6))
def test_reader_never_raises_and_stays_bounded(data, cuts):
    reader = P.FrameReader()
    for kind, value in split_feed(reader, data, cuts):
        assert kind in ("frame", "error", "text")
        if kind == "error":
            assert value.code and value.detail
    assert len(reader.buf) <= P.MAX_LINE


@given(bodies, st.binary(max_size=300), st.binary(max_size=300))
def test_valid_frame_survives_garbage_around_it(body, before, after):
    line = P.encode(P.STATUS, 9, body)
    items = P.FrameReader().feed(before.replace(b"\x1e", b"") + b"\n" + line + after)
    assert [i[1].body for i in items if i[0] == "frame"][:1] == [body]


@given(bodies, st.data())
def test_any_single_byte_change_is_an_error_or_harmless(body, data):
    line = bytearray(P.encode(P.COMMAND, 3, body))
    pos = data.draw(st.integers(1, len(line) - 2), label="pos")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != line[pos]), label="byte")
    line[pos] = new
    items = P.FrameReader().feed(bytes(line))
    frames = [i[1] for i in items if i[0] == "frame"]
    errors = [i[1] for i in items if i[0] == "error"]
    # Base64 ignores the spare low bits of its last character, so a change
    # there can decode to the same frame; anything else must be refused.
    assert errors or (len(frames) == 1 and frames[0].body == body)


def test_each_header_fault_is_named():
    def frame(raw: bytes) -> bytes:
        raw += struct.pack("<I", binascii.crc32(raw))
        return b"\x1e" + binascii.b2a_base64(raw, newline=False) + b"\n"

    payload = b'{"a": 1}'
    cases = {
        P.E_VERSION: frame(struct.pack(P.HEADER, 2, P.STATUS, 0, 1, len(payload)) + payload),
        P.E_KIND: frame(struct.pack(P.HEADER, 1, 99, 0, 1, len(payload)) + payload),
        P.E_FLAGS: frame(struct.pack(P.HEADER, 1, P.STATUS, 0x80, 1, len(payload)) + payload),
        P.E_LENGTH: frame(struct.pack(P.HEADER, 1, P.STATUS, 0, 1, 99) + payload),
        P.E_JSON: frame(struct.pack(P.HEADER, 1, P.STATUS, 0, 1, 3) + b"[1]"),
        P.E_CRC: P.encode(P.STATUS, 1, {"a": 1})[:-3] + b"A=\n",
        P.E_BASE64: b"\x1eab*d\n",
        P.E_SHORT: b"\x1eAAAA\n",
        P.E_TOO_LONG: b"\x1e" + b"A" * (P.MAX_LINE + 4) + b"\n",
    }
    for code, line in cases.items():
        items = P.FrameReader().feed(line)
        assert [(i[0], i[1].code) for i in items] == [("error", code)], code
    # The seq of a frame whose header could be read is echoed in the error.
    err = P.FrameReader().feed(cases[P.E_KIND])[0][1]
    assert err.seq == 1 and "99" in err.detail


def test_payload_limit_is_enforced_when_encoding():
    with pytest.raises(ValueError, match="payload"):
        P.encode(P.STATUS, 1, {"x": "y" * P.MAX_PAYLOAD})


def test_hmac_matches_the_standard_library():
    import hashlib
    import hmac

    for key in (b"", b"k", b"x" * 64, b"y" * 100):
        for msg in (b"", b"abc", bytes(range(256))):
            assert P.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


KEY = b"device-key-0123456789abcdef"


def test_authenticated_frames_forgery_and_replay_are_refused():
    sender = P.Auth(KEY)
    line = P.encode(P.COMMAND, 1, {"cmd": "bolus", "args": {"mu": 500}}, auth=sender, counter=1)
    reader = P.FrameReader(auth=P.Auth(KEY))
    assert reader.feed(line)[0][1].counter == 1
    assert reader.feed(line)[0][1].code == P.E_REPLAY  # the same frame again
    forged = P.encode(P.COMMAND, 2, {"cmd": "bolus", "args": {"mu": 25000}},
                      auth=P.Auth(b"wrong key"), counter=2)
    assert reader.feed(forged)[0][1].code == P.E_AUTH
    assert P.FrameReader().feed(line)[0][1].code == P.E_AUTH  # no key on this side


class Device:
    """A DeviceLink with a recording handler, for the device-side properties."""

    def __init__(self, auth=None, auth_required=()):
        self.sent = bytearray()
        self.calls: list = []
        self.link = P.DeviceLink(self.sent.extend, self.handle, auth, auth_required)

    def handle(self, name, args):
        self.calls.append((name, args))
        if name == "crash":
            raise ZeroDivisionError
        return name == "ok", "" if name == "ok" else "refused"

    def replies(self) -> list:
        items = P.FrameReader().feed(bytes(self.sent))
        assert all(i[0] == "frame" for i in items), items  # the device only sends frames
        return [i[1] for i in items]


@given(st.lists(st.one_of(
    st.binary(max_size=200),
    st.builds(lambda seq, name: P.encode(P.COMMAND, seq, {"cmd": name, "args": {}}),
              seqs, st.sampled_from(["ok", "no", "crash"])),
    st.builds(lambda kind, seq, body: P.encode(kind, seq, body), kinds, seqs, bodies),
), max_size=8))
def test_device_answers_every_frame_exactly_once(chunks):
    stream = b"".join(chunks)
    expected = [i for i in P.FrameReader().feed(stream) if i[0] != "text"]
    dev = Device()
    for chunk in chunks:
        dev.link.feed(chunk)
    replies = dev.replies()
    assert len(replies) == len(expected)
    for item, reply in zip(expected, replies, strict=True):
        if item[0] == "error":
            assert reply.kind == P.ERROR and reply.body["error"] == item[1].code
        elif item[1].kind != P.COMMAND or not isinstance(item[1].body.get("cmd"), str):
            assert reply.kind == P.ERROR and reply.seq == item[1].seq
        else:
            assert reply.kind == P.RESPONSE and reply.seq == item[1].seq
            assert reply.body["ok"] == (item[1].body["cmd"] == "ok")


def test_device_refuses_unauthenticated_delivery_commands():
    dev = Device(auth=P.Auth(KEY), auth_required=("bolus",))
    dev.link.feed(P.encode(P.COMMAND, 5, {"cmd": "bolus", "args": {"mu": 100}}))
    dev.link.feed(P.encode(P.COMMAND, 6, {"cmd": "bolus", "args": {"mu": 100}},
                           auth=P.Auth(KEY), counter=1))
    first, second = dev.replies()
    assert (first.kind, first.seq, first.body["error"]) == (P.ERROR, 5, P.E_UNAUTH)
    assert (second.kind, second.seq) == (P.RESPONSE, 6)
    assert dev.calls == [("bolus", {"mu": 100})]


def test_handler_crash_still_gets_a_response():
    dev = Device()
    dev.link.feed(P.encode(P.COMMAND, 77, {"cmd": "crash"}))
    (reply,) = dev.replies()
    assert reply.kind == P.RESPONSE and reply.seq == 77 and not reply.body["ok"]
    assert "ZeroDivisionError" in reply.body["reason"]


def test_telemetry_sequence_numbers_increase_and_stop_in_maintenance():
    dev = Device()
    dev.link.status({"mode": "run"})
    dev.link.event("100 pulse n=1")
    dev.link.enabled = False
    dev.link.status({"mode": "maintenance"})
    replies = dev.replies()
    assert [(r.kind, r.seq) for r in replies] == [(P.STATUS, 1), (P.EVENT, 2)]
