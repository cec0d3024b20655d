# pumpctl flash agent: MicroPython, run on the board inside one raw-REPL exec.
# Line commands on stdin, one reply line each ("= value" or "! error"):
#   V dir            -> repr([(relpath, size, sha256hex), ...]) of every file under dir
#   W path size      -> "R", then one base64 line per chunk of <= CHUNK bytes, "A" after
#                       each; "= sha256hex" once size bytes are written
#   C src dst        -> copy on the board; "= sha256hex"
#   H path           -> sha256hex of one file, or "-" if it does not exist
#   G path           -> repr(text) of a small file, or "None" if it does not exist
#   M dir            -> mkdir -p;  D path -> remove file;  N src dst -> rename (atomic)
#   Q                -> "= bye" and exit
# Ctrl-C is off while it runs. A link silent for IDLE_MS between lines ends it;
# a cable pulled mid-line leaves it waiting for the end of that line: the next
# pumpctl command sends "\n\nQ\n" (end the line, an empty line aborts any
# transfer, quit).
import os
import select
import sys
from binascii import a2b_base64, hexlify
from hashlib import sha256

import micropython

CHUNK = 4096  # replaced by the host
IDLE_MS = 5000

micropython.kbd_intr(-1)
_in = sys.stdin.buffer
_out = sys.stdout
_poll = select.poll()
_poll.register(sys.stdin, select.POLLIN)
_buf = bytearray(4096)
_mv = memoryview(_buf)


def _wait():
    if not _poll.poll(IDLE_MS):
        raise OSError("link idle, agent stopped")


def _line():
    b = bytearray()
    while True:
        _wait()
        c = _in.read(1)
        if c == b"\n":
            return b.decode()
        if c != b"\r":
            b.extend(c)


def _say(s):
    _out.write(s + "\n")


def _hash(path):
    h = sha256()
    with open(path, "rb") as f:
        while True:
            n = f.readinto(_buf)
            if not n:
                break
            h.update(_mv[:n])
    return hexlify(h.digest()).decode()


def _walk(top, rel, out):
    for entry in os.ilistdir(top):
        name, kind = entry[0], entry[1]
        path = top + "/" + name
        if kind == 0x4000:
            _walk(path, rel + name + "/", out)
        else:
            out.append((rel + name, os.stat(path)[6], _hash(path)))


def _mkdirs(path):
    part = ""
    for name in path.strip("/").split("/"):
        part += "/" + name
        try:
            os.mkdir(part)
        except OSError:
            pass


def _write(path, size):
    h = sha256()
    _say("R")
    with open(path, "wb") as f:
        left = size
        while left > 0:
            _wait()
            data = a2b_base64(_in.readline())  # readline loops in C: fast
            if not data or len(data) > left or len(data) > CHUNK:
                raise ValueError("bad chunk for " + path)
            f.write(data)
            h.update(data)
            left -= len(data)
            _say("A")
    return hexlify(h.digest()).decode()


def _copy(src, dst):
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while True:
            n = fi.readinto(_buf)
            if not n:
                break
            fo.write(_mv[:n])
    return _hash(dst)


def _serve():
    while True:
        args = _line().split(" ")
        op = args[0]
        try:
            if op == "V":
                out = []
                try:
                    _walk(args[1], "", out)
                except OSError:
                    pass  # no such directory: empty
                _say("= " + repr(out))
            elif op == "H":
                try:
                    _say("= " + _hash(args[1]))
                except OSError:
                    _say("= -")
            elif op == "G":
                try:
                    with open(args[1]) as f:
                        _say("= " + repr(f.read()))
                except OSError:
                    _say("= None")
            elif op == "W":
                _say("= " + _write(args[1], int(args[2])))
            elif op == "C":
                _say("= " + _copy(args[1], args[2]))
            elif op == "M":
                _mkdirs(args[1])
                _say("= ok")
            elif op == "D":
                os.remove(args[1])
                _say("= ok")
            elif op == "N":
                os.rename(args[1], args[2])
                _say("= ok")
            elif op == "Q":
                _say("= bye")
                return
            else:
                _say("! unknown op " + op)
        except Exception as e:
            _say("! " + repr(e))


try:
    _serve()
finally:
    micropython.kbd_intr(3)
