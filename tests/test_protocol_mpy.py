"""pump.protocol on the real MicroPython Unix port against CPython.

Hypothesis generates a corpus (valid, corrupted, authenticated, garbage
streams); one MicroPython process parses all of it with FrameReader and
answers it with DeviceLink. The decoded results must match CPython's: the
firmware and the host tools agree on every frame and every error.
"""

from __future__ import annotations

import binascii
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pump import protocol as P

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"
MICROPYTHON = Path(sys.executable).parent / "micropython"
KEY = b"k" * 16

MPY_SCRIPT = r"""
import sys, json, binascii
sys.path.insert(0, FIRMWARE)
from pump import protocol as P

def summary(items):
    out = []
    for kind, v in items:
        if kind == "frame":
            out.append(["frame", v.kind, v.seq, v.body, v.counter])
        elif kind == "error":
            out.append(["error", v.code, v.seq])
        else:
            out.append(["text", binascii.hexlify(v).decode()])
    return out

with open(sys.argv[1]) as f:
    for line in f:
        data = binascii.unhexlify(line.strip())
        half = len(data) // 2
        reader = P.FrameReader(auth=P.Auth(KEY))
        items = reader.feed(data[:half]) + reader.feed(data[half:])
        sent = bytearray()
        dev = P.DeviceLink(sent.extend, lambda n, a: (n == "ok", "r"), P.Auth(KEY), ("bolus",))
        dev.feed(data)
        print(json.dumps([summary(items), binascii.hexlify(sent).decode()]))
"""


def cpython_result(data: bytes) -> list:
    half = len(data) // 2
    reader = P.FrameReader(auth=P.Auth(KEY))
    items = reader.feed(data[:half]) + reader.feed(data[half:])
    summary = []
    for kind, v in items:
        if kind == "frame":
            summary.append(["frame", v.kind, v.seq, v.body, v.counter])
        elif kind == "error":
            summary.append(["error", v.code, v.seq])
        else:
            summary.append(["text", v.hex()])
    return summary


def replies(sent: bytes) -> list:
    return [(i[1].kind, i[1].seq, i[1].body) for i in P.FrameReader().feed(sent)]


def corrupt(line: bytes, pos: int, byte: int) -> bytes:
    b = bytearray(line)
    b[pos % len(b)] = byte
    return bytes(b)


chunk = st.one_of(
    st.binary(max_size=120),
    st.builds(lambda s, n, a: P.encode(P.COMMAND, s, {"cmd": n, "args": {"mu": a}}),
              st.integers(0, 0xFFFF), st.sampled_from(["ok", "no", "bolus"]), st.integers()),
    st.builds(lambda s, c: P.encode(P.COMMAND, s, {"cmd": "bolus"}, auth=P.Auth(KEY), counter=c),
              st.integers(0, 0xFFFF), st.integers(0, 3)),
    st.builds(lambda s, t: P.encode(P.STATUS, s, {"t": t, "mode": "run"}),
              st.integers(0, 0xFFFF), st.text(max_size=30)),
    st.builds(corrupt, st.just(P.encode(P.COMMAND, 4, {"cmd": "ok"})),
              st.integers(0, 60), st.integers(0, 255)),
)


def build_corpus(n: int) -> list[bytes]:
    corpus: list[bytes] = []

    @settings(max_examples=n, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(chunk, max_size=6))
    def collect(chunks):
        corpus.append(b"".join(chunks))

    collect()
    return corpus


def test_micropython_parses_and_answers_like_cpython(tmp_path):
    corpus = build_corpus(200)
    path = tmp_path / "corpus.hex"
    path.write_text("".join(binascii.hexlify(d).decode() + "\n" for d in corpus))
    script = tmp_path / "fuzz.py"
    script.write_text(MPY_SCRIPT.replace("FIRMWARE", repr(str(FIRMWARE)))
                      .replace("KEY", repr(KEY)))
    run = subprocess.run([str(MICROPYTHON), str(script), str(path)],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode() + run.stdout.decode()[-2000:]
    lines = run.stdout.decode().split("\n")[:-1]  # not splitlines: U+2028 is data
    assert len(lines) == len(corpus)
    for data, line in zip(corpus, lines, strict=True):
        mpy_items, mpy_sent = json.loads(line)
        assert mpy_items == cpython_result(data), data
        sent = bytearray()
        dev = P.DeviceLink(sent.extend, lambda n, a: (n == "ok", "r"), P.Auth(KEY), ("bolus",))
        dev.feed(data)
        assert replies(bytes.fromhex(mpy_sent)) == replies(bytes(sent)), data
