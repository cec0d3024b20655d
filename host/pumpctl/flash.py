"""Flash the firmware to a board (real or emulated) over its serial link.

Layout on the board's filesystem::

    /main.py              loader (constant): runs the slot named in /fw/active
    /fw/active            "a" or "b": the slot that boots
    /fw/a/ /fw/b/         two firmware slots: .mpy modules, fwbuild.py, manifest.json

A flash writes the slot that does not boot (copying unchanged files across on
the board, sending only the rest), verifies the SHA-256 of every file in it,
and only then points /fw/active at it with an atomic rename. A link cut at
any moment leaves /fw/active naming a complete slot: the old firmware or the
new one, never a mix.

Transfer: one raw-paste exec starts a small agent on the board
(device/flash_agent.py) which then receives files as base64 lines (decoded in
C by ``readline`` + ``a2b_base64``) with a per-line acknowledgement and two
lines in flight, so no Python source is compiled per chunk.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import proto
from .bundle import MANIFEST, FwFile, build_files
from .errors import PumpctlError
from .firmware import FIRMWARE
from .keys import Signer
from .link import Link, LinkTimeout
from .rawrepl import DeviceError, RawRepl, ReplError

AGENT = Path(__file__).parent / "device" / "flash_agent.py"
LOADER = '''# Loader written by pumpctl flash: runs the firmware slot named in /fw/active.
import sys
try:
    with open("/fw/active") as _f:
        _slot = "/fw/" + _f.read().strip()
except OSError:
    _slot = None
if _slot is None:
    print("no firmware: flash it with pumpctl flash")
else:
    sys.path.insert(0, _slot)
    import main  # noqa: F401  the firmware's main module, from the slot
'''


MAX_INFLATE = 48 * 1024  # larger files go uncompressed: the board inflates in RAM


@dataclass
class Build:
    board: str
    files: list[FwFile]
    build_id: str
    manifest: dict

    @property
    def by_path(self) -> dict[str, FwFile]:
        return {f.path: f for f in self.files}


def build(board: str, firmware: Path = FIRMWARE, cache: Path | None = None,
          compile_mpy: bool = True) -> Build:
    """Everything that goes into a slot (the board's bundle, all compiled: the loader
    imports ``main``), with its manifest (pumpctl/bundle.py)."""
    files, manifest = build_files(board, firmware, cache, compile_mpy)
    return Build(board, files, manifest["build"], manifest)


@dataclass
class FlashReport:
    build_id: str
    slot: str = ""
    unchanged: bool = False
    sent: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    seconds: float = 0.0
    maintenance: bool = False
    confirmed: bool = False


Progress = Callable[[int, int, str], None]  # (bytes done, bytes total, current file)


class Flasher:
    """One flash session over an open Link; ``run`` does it all."""

    def __init__(self, link: Link, chunk: int, progress: Progress | None = None,
                 key: bytes | None = None, window: int = 2):
        self.link = link
        self.window = window
        self.key = key  # SEC-1 device key: signs maintenance, provisioned if the board has none
        self.inflate = False  # the board's agent can inflate zlib streams (I op)
        self.repl = RawRepl(link)
        self.chunk = chunk
        self.progress = progress or (lambda done, total, name: None)

    # -- agent protocol ---------------------------------------------------------------
    def _reply(self, timeout: float = 20.0) -> str:
        while True:
            line = self.link.read_until(b"\n", timeout=timeout).rstrip(b"\r\n").decode(
                errors="replace")
            if line.startswith("= "):
                return line[2:]
            if line.startswith("! "):
                raise DeviceError(f"the board refused: {line[2:]}")
            if line.startswith("Traceback") or "\x04" in line:
                rest = self.link.drain(quiet=0.2)
                raise DeviceError(f"the flash agent stopped: {line}{rest.decode(errors='replace')}")

    def _op(self, *words: str) -> str:
        self.link.write((" ".join(words) + "\n").encode())
        return self._reply()

    def _listing(self, top: str) -> dict[str, str]:
        return {path: sha for path, _size, sha in ast.literal_eval(self._op("V", top))}

    def _send(self, files: list[tuple[str, bytes]], show: bool = False) -> int:
        """Upload files as one pipelined stream of agent lines.

        Each line sent has one expected reply (W -> "R", chunk -> "A", last
        chunk -> "A" then "= sha"); at most about two chunks' worth of bytes
        are unacknowledged, which is what a board's USB or UART buffer takes.
        """
        link = self.link
        lines: list[tuple[bytes, list[str], int]] = []  # (line, replies expected, data bytes)
        for path, data in files:
            sha = "=" + hashlib.sha256(data).hexdigest() + " " + path
            payload = self._deflate(data)
            if payload is not None:
                header = f"Z {path} {len(data)} {len(payload)}\n"
            else:
                payload = data
                header = f"W {path} {len(data)}\n"
            lines.append((header.encode(), ["R"] if payload else ["R", sha], 0))
            for i in range(0, len(payload), self.chunk):
                piece = payload[i : i + self.chunk]
                last = i + self.chunk >= len(payload)
                expect = ["A", sha] if last else ["A"]
                lines.append((base64.b64encode(piece) + b"\n", expect, len(piece)))
        total = sum(n for _, _, n in lines) if show else 0  # bytes over the link
        budget = self.window * (len(base64.b64encode(bytes(self.chunk))) + 1) + 256
        in_flight: list[tuple[int, list[str], int]] = []
        sent = done = 0
        while sent < len(lines) or in_flight:
            while sent < len(lines) and (not in_flight or sum(x[0] for x in in_flight)
                                         + len(lines[sent][0]) <= budget):
                line, expect, n = lines[sent]
                link.write(line)
                in_flight.append((len(line), list(expect), n))
                sent += 1
            size, expect, n = in_flight[0]
            want = expect.pop(0)
            got = link.read_until(b"\n", timeout=20).rstrip(b"\r\n").decode(errors="replace")
            if want.startswith("="):
                sha, path = want[1:].split(" ", 1)
                if got != "= " + sha:
                    raise DeviceError(f"{path}: the board wrote {got!r}, expected SHA-256 {sha}")
            elif got != want:
                raise DeviceError(f"the board answered {got!r} during the upload, not {want!r}")
            if want == "A" and total:
                done += n
                self.progress(done, total, "upload")
            if not expect:
                in_flight.pop(0)
        return sum(n for _, _, n in lines)

    def _deflate(self, data: bytes) -> bytes | None:
        """zlib stream (4 KiB window: small boards inflate it) if worth it, else None."""
        if not self.inflate or not 256 <= len(data) <= MAX_INFLATE:
            return None
        z = zlib.compressobj(9, zlib.DEFLATED, 12)
        packed = z.compress(data) + z.flush()
        return packed if len(packed) < len(data) * 9 // 10 else None

    # -- steps ---------------------------------------------------------------------------
    def maintenance(self, timeout: float = 2.0) -> bool:
        """Ask running firmware to suspend delivery and free the link.

        First an open ``status`` request: its STATUS frame gives the session
        nonce to sign ``maintenance`` with (SEC-1, when the board has a key).
        True: the firmware stopped. False: no firmware answered; ``at_prompt``
        tells whether a REPL prompt came back instead (then there is no need to
        wait, nor to soft reset before flashing).
        """
        self.at_prompt = False
        link = self.link
        signer = Signer(self.key)
        link.write(proto.encode(proto.COMMAND, 1, {"cmd": "status", "args": {}}))
        reader = proto.FrameReader()
        text = b""
        sent = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kind, item in reader.feed(link.read_available()):
                if kind == "text":
                    text = (text + item)[-64:]
                    if b">>> " in text or b"raw REPL" in text:
                        self.at_prompt = True
                        return False
                if kind != "frame":
                    continue
                if item.kind == proto.STATUS and not sent:
                    signer.on_status(item.body)
                    if item.body.get("nonce") and self.key is None:
                        raise PumpctlError("the board has a device key: pass --key to flash it")
                    link.write(signer.encode(2, {"cmd": "maintenance", "args": {}}))
                    sent = True
                    deadline = time.monotonic() + timeout
                elif item.seq == 2 and item.kind == proto.ERROR:
                    raise PumpctlError(f"the board refused maintenance: {item.body.get('error')} "
                                       f"({item.body.get('detail')}); wrong --key?")
                elif item.seq == 2 and item.kind == proto.RESPONSE:
                    if not item.body.get("ok"):
                        raise PumpctlError(f"the firmware refused maintenance: "
                                           f"{item.body.get('reason')}")
                    return True
        return False

    def enter_repl(self, soft_reset: bool) -> None:
        try:
            self.repl.enter(soft_reset=soft_reset)
        except ReplError:
            # A flash cut mid-line leaves the agent waiting for the end of a line:
            # end it, abort any transfer with an empty line, quit, try again.
            self.link.write(b"\n\nQ\n")
            self.link.drain(quiet=0.3, overall=5)
            self.repl.enter(soft_reset=True)

    def run(self, fw: Build, reset: bool = True) -> FlashReport:
        t0 = time.monotonic()
        report = FlashReport(fw.build_id)
        report.maintenance = self.maintenance()
        self.enter_repl(soft_reset=not (report.maintenance or self.at_prompt))
        agent = AGENT.read_text().replace("CHUNK = 4096", f"CHUNK = {self.chunk}")
        self.repl.exec_start(agent.encode())
        self.inflate = self._op("I") == "z"
        self._update(fw, report)
        self._op("Q")
        self.repl.exec_end()
        if reset:
            self.repl.soft_reset_friendly()
            report.confirmed = self.confirm(fw.build_id)
        else:
            self.repl.exit()
        report.seconds = time.monotonic() - t0
        return report

    def _update(self, fw: Build, report: FlashReport) -> None:
        active = ast.literal_eval(self._op("G", "/fw/active"))
        active = active.strip() if active else None
        staging = "b" if active == "a" else "a"
        want = {f.path: f.sha for f in fw.files}
        loader_ok = self._op("H", "/main.py") == hashlib.sha256(LOADER.encode()).hexdigest()
        if active in ("a", "b"):
            current = self._listing(f"/fw/{active}")
            if _same_firmware(current, want) and loader_ok:
                report.unchanged = True
                report.slot = active
                report.kept = sorted(want)
                self._provision_key()
                return
        else:
            current = {}
        report.slot = staging
        base = f"/fw/{staging}"
        self._op("M", base)
        have = self._listing(base)
        for path in have:
            if path not in want:
                self._op("D", f"{base}/{path}")
        for d in sorted({p.rsplit("/", 1)[0] for p in want if "/" in p}):
            self._op("M", f"{base}/{d}")
        to_send = []
        for f in fw.files:
            if have.get(f.path) == f.sha:
                report.kept.append(f.path)
            elif current.get(f.path) == f.sha:
                sha = self._op("C", f"/fw/{active}/{f.path}", f"{base}/{f.path}")
                if sha != f.sha:
                    raise DeviceError(f"{f.path}: copy on the board has a different SHA-256")
                report.copied.append(f.path)
            else:
                to_send.append(f)
                report.sent.append(f.path)
        report.bytes_sent = self._send([(f"{base}/{f.path}", f.data) for f in to_send],
                                       show=True)
        # Verify the whole slot as the board sees it before it may boot.
        check = self._listing(base)
        if check != want:
            bad = sorted(p for p in set(check) | set(want) if check.get(p) != want.get(p))
            raise DeviceError(f"verification failed in {base}: {', '.join(bad)}")
        if not loader_ok:
            self._send([("/main.tmp", LOADER.encode())])
            self._op("N", "/main.tmp", "/main.py")
        self._send([("/fw/active.tmp", staging.encode())])
        self._op("N", "/fw/active.tmp", "/fw/active")  # the atomic switch
        self._provision_key()

    def _provision_key(self) -> None:
        """Write the device key to /data/key (kept across flashes) if it is not there."""
        if self.key is None:
            return
        if self._op("H", "/data/key") == hashlib.sha256(self.key).hexdigest():
            return
        self._op("M", "/data")
        self._send([("/data/key.tmp", self.key)])
        self._op("N", "/data/key.tmp", "/data/key")

    def confirm(self, build_id: str, timeout: float = 15.0) -> bool:
        """Wait for a STATUS frame from the new build after the reset."""
        reader = proto.FrameReader()
        text = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kind, item in reader.feed(self.link.read_available()):
                if kind == "text":
                    text = (text + item)[-1500:]
                if kind == "frame" and item.kind == proto.STATUS:
                    if item.body.get("build") == build_id:
                        return True
                    raise PumpctlError(f"the board booted build {item.body.get('build')!r}, "
                                       f"not {build_id!r}")
        said = text.decode(errors="replace").strip()
        raise LinkTimeout(f"{self.link.name}: no status frame from the new firmware within "
                          f"{timeout:.0f} s" + (f"; the board said:\n{said}" if said else ""))


def _same_firmware(current: dict[str, str], want: dict[str, str]) -> bool:
    """Same files, ignoring the manifest (it also records the git hash)."""
    strip = {k: v for k, v in current.items() if k != MANIFEST}
    return strip == {k: v for k, v in want.items() if k != MANIFEST}
