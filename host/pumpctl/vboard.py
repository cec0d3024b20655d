"""The emulated board on a real serial endpoint (``pumpctl vboard``).

The firmware runs in the MicroPython Unix port (``micropython -i vboot.py``)
behind an internal pseudo-terminal. This module relays that terminal to what a
host tool opens: an external pty (its path is printed) and a TCP port
(``socket://127.0.0.1:PORT``). On the way it supplies what the Unix port
lacks to look like a board on the wire:

- soft reset: the Unix port exits on Ctrl-D; the relay prints
  ``MPY: soft reboot`` and starts it again (boot.py, then main.py; after a
  raw-REPL soft reset, boot.py only and back into the raw REPL);
- Ctrl-C: delivered as SIGINT only while the firmware is executing and catches
  SIGINT (``SigCgt`` bit in /proc), passed on as an input byte otherwise, so
  ``micropython.kbd_intr(-1)`` keeps delivery running as on a board;
- line endings: a board's stdout is "cooked" (MicroPython turns every ``\n``
  that Python code prints into ``\r\n``), its ``sys.stdout.buffer`` is not; the
  Unix port writes bare ``\n`` for both. The relay cooks the board's output
  (``LineCooker``): a ``\n`` gets its ``\r`` unless one is already there or the
  line is a protocol frame (it starts with RS, 0x1e: what the firmware writes
  raw to ``sys.stdout.buffer``), so a frame arrives byte for byte as a board
  sends it. Both terminals are raw (no ONLCR): the kernel changes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pty
import selectors
import signal
import socket
import subprocess
import termios
from pathlib import Path

from .errors import PumpctlError
from .firmware import FIRMWARE, import_firmware, micropython_binary

import_firmware()
from boards.emu.replmark import READY_MARK  # noqa: E402  (the one definition, shared with vboot)

FIRMWARE_EMU = FIRMWARE / "boards" / "emu"
VBOOT = FIRMWARE_EMU / "vboot.py"
RAW_BANNER = b"raw REPL; CTRL-B to exit"
FRIENDLY_BANNER = b'Type "help()" for more information.'
SOFT_REBOOT = b"MPY: soft reboot\r\n"
CTRL_C = 0x03
SIGINT_BIT = 1 << (signal.SIGINT - 1)
DEFAULT_FLASH_BYTES = 2 * 1024 * 1024
MAX_PENDING_INPUT = 64 * 1024  # stop reading clients beyond this (back-pressure)
MAX_CLIENT_BACKLOG = 1024 * 1024  # a TCP client that stops reading loses output


def ensure_image(path: Path, size_bytes: int = DEFAULT_FLASH_BYTES) -> bool:
    """Create a blank (erased) flash image if missing; True if created."""
    if path.exists():
        if path.stat().st_size < 8 * 4096:
            raise PumpctlError(f"{path}: not a flash image (smaller than 8 blocks)")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    blank = b"\xff" * 4096
    with open(path, "wb") as f:
        for _ in range(size_bytes // 4096):
            f.write(blank)
    return True


def _set_raw(fd: int, isig: bool) -> None:
    """Raw terminal: no echo, no CR/LF translation, no special input bytes.

    ``isig`` keeps ISIG set as the Unix port's "executing" terminal state; with
    VINTR disabled the kernel never turns a byte into a signal, the relay does.
    """
    attrs = termios.tcgetattr(fd)
    attrs[0] = 0  # iflag: no ICRNL, no IXON
    attrs[1] = 0  # oflag: no OPOST/ONLCR
    attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8 | termios.CREAD
    attrs[3] = termios.ISIG if isig else 0
    cc = attrs[6]
    for name in ("VINTR", "VQUIT", "VSUSP"):
        cc[getattr(termios, name)] = 0  # _POSIX_VDISABLE
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class LineCooker:
    """``\n`` -> ``\r\n`` as a board's cooked stdout does, across reads; frame lines
    (RS ... LF, written raw by the firmware) and ``\r\n`` already there pass as they are."""

    RS = 0x1E

    def __init__(self):
        self.last = 0  # the last byte seen (a \r before a \n split across reads)
        self.in_frame = False

    def reset(self) -> None:
        self.last = 0
        self.in_frame = False

    def cook(self, data: bytes) -> bytes:
        if b"\n" not in data and self.RS not in data:
            if data:
                self.last = data[-1]
            return data
        out = bytearray()
        last, in_frame = self.last, self.in_frame
        for b in data:
            if b == self.RS:
                in_frame = True
            if b == 0x0A:
                if not in_frame and last != 0x0D:
                    out.append(0x0D)
                in_frame = False
            out.append(b)
            last = b
        self.last, self.in_frame = last, in_frame
        return bytes(out)


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Stop a child process (a ``pumpctl vboard``, a monitor): SIGTERM, so it can close its
    flash image and link cleanly, then SIGKILL if it is still running after ``grace_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _board_child_setup() -> None:
    """In the child: the pty becomes its controlling terminal, and it dies with the relay.

    SIGINT starts ignored: the `micropython` command is a CPython launcher around the Unix
    port, and CPython catches SIGINT from its first instant, so a Ctrl-C relayed while it was
    still starting (mpremote connecting to a board just reset, on a loaded machine) killed
    it in its start-up ("Failed to import the site module"). Ignored, CPython leaves SIGINT
    alone and the Unix port installs its own handler when it runs code, which is what
    ``executing_with_sigint`` waits for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphaned boards
    except (OSError, AttributeError):
        pass


class BoardProcess:
    """One life of the Unix-port process between two resets."""

    def __init__(self, argv: list[str]):
        self.master, slave = pty.openpty()
        _set_raw(slave, isig=True)
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=str(FIRMWARE_EMU),
            start_new_session=True,
            preexec_fn=_board_child_setup,
        )
        os.close(slave)
        os.set_blocking(self.master, False)

    def executing_with_sigint(self) -> bool:
        """True when a Ctrl-C should become KeyboardInterrupt.

        The Unix port clears ISIG while its REPL waits for input and restores it
        while running code; SigCgt tells whether SIGINT is caught right now
        (``kbd_intr(-1)`` restores the default action, which would kill it).
        """
        try:
            if not termios.tcgetattr(self.master)[3] & termios.ISIG:
                return False
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("SigCgt:"):
                        return bool(int(line.split()[1], 16) & SIGINT_BIT)
        except (OSError, termios.error):
            pass
        return False

    def at_repl(self) -> bool:
        """True while the Unix port's REPL reads its input (it clears ISIG then)."""
        try:
            return not termios.tcgetattr(self.master)[3] & termios.ISIG
        except termios.error:
            return False

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


class Endpoint:
    """Somewhere the board's serial output goes and its input comes from.

    Output the host has not read yet waits in a backlog (a board waits for a slow
    USB host); past ``MAX_CLIENT_BACKLOG`` with nobody reading, the oldest is lost,
    as on a USB CDC port with no host. Each endpoint supplies only ``_send``."""

    backlog: bytearray

    def _send(self, data: bytearray) -> int:
        """Write what the endpoint takes now; return the count (may raise BlockingIOError)."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        self.backlog += data
        if len(self.backlog) > MAX_CLIENT_BACKLOG:
            del self.backlog[: len(self.backlog) - MAX_CLIENT_BACKLOG]
        self.flush()

    def flush(self) -> None:
        while self.backlog:
            try:
                n = self._send(self.backlog)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.backlog.clear()
                return
            del self.backlog[:n]


class PtyEndpoint(Endpoint):
    """The external pseudo-terminal a host tool opens like a USB serial port."""

    def __init__(self):
        self.master, self._slave = pty.openpty()  # holding the slave: no EIO between clients
        _set_raw(self._slave, isig=False)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.backlog = bytearray()

    def _send(self, data: bytearray) -> int:
        return os.write(self.master, data)

    def close(self) -> None:
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpClient(Endpoint):
    def __init__(self, sock: socket.socket):
        self.sock = sock
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.backlog = bytearray()

    def _send(self, data: bytearray) -> int:
        return self.sock.send(data)


class VBoard:
    """The relay: one board process at a time, a pty and a TCP listener."""

    def __init__(
        self,
        image: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        options: dict[str, str] | None = None,
        heapsize: str | None = None,
    ):
        self.image = image
        self.options = options or {}
        self.heapsize = heapsize
        self.micropython = micropython_binary()
        self.sel = selectors.DefaultSelector()
        self.pty = PtyEndpoint()
        self.listener = socket.create_server((host, port))
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()
        self.client: TcpClient | None = None
        self.board: BoardProcess | None = None
        self.pending_in = bytearray()  # client bytes not yet accepted by the board
        self.hold_input = False  # during a raw-REPL reboot, until the raw REPL is back
        self.raw_repl = False  # which REPL the board was last seen in
        self.swallow = ""  # output filter state, see _filter_output
        self.tail = b""  # last output bytes, to find banners split across reads
        self.cooker = LineCooker()
        self.resets = 0
        self.running = False
        self.pty_events = selectors.EVENT_READ  # what the selector waits for on the pty
        self.sel.register(self.pty.master, selectors.EVENT_READ, "pty")
        self.sel.register(self.listener, selectors.EVENT_READ, "listen")

    @property
    def url(self) -> str:
        return f"socket://{self.address[0]}:{self.address[1]}"

    # -- board life cycle -------------------------------------------------------------
    def _argv(self, mode: str) -> list[str]:
        argv = [self.micropython]
        if self.heapsize:
            argv += ["-X", f"heapsize={self.heapsize}"]
        argv += ["-i", str(VBOOT), str(self.image.resolve()), mode]
        argv += [f"{k}={v}" for k, v in sorted(self.options.items())]
        return argv

    def _start(self, mode: str) -> None:
        self.board = BoardProcess(self._argv(mode))
        self.sel.register(self.board.master, selectors.EVENT_READ, "board")
        self.raw_repl = False
        self.tail = b""
        self.cooker.reset()
        # After a raw soft reset, hide the friendly banner and re-enter the raw REPL.
        self.swallow = "mark-then-banner" if mode == "raw" else "mark"
        self.hold_input = mode == "raw"

    def _board_exited(self) -> None:
        assert self.board is not None
        was_raw = self.raw_repl
        self.sel.unregister(self.board.master)
        self.board.stop()
        self.board = None
        self.resets += 1
        self._broadcast(SOFT_REBOOT)
        self._start("raw" if was_raw else "friendly")

    # -- output from the board ----------------------------------------------------------
    def _filter_output(self, data: bytes) -> bytes:
        """Drop the ready mark and, in a raw reboot, everything up to the prompt."""
        if self.swallow == "mark":
            i = data.find(READY_MARK)
            if i >= 0:
                self.swallow = ""
                return data[:i] + data[i + len(READY_MARK):]
            return data  # the mark is written in one go, never split in practice
        if self.swallow == "mark-then-banner":
            i = data.find(READY_MARK)
            if i < 0:
                return data  # boot.py output is shown, as on a board
            self.swallow = "banner"
            self.tail = b""
            rest = self._filter_output(data[i + len(READY_MARK):])
            return data[:i] + rest
        if self.swallow == "banner":
            self.tail = (self.tail + data)[-64:]
            if self.tail.endswith(b">>> "):
                self.swallow = ""
                self.tail = b""
                assert self.board is not None
                os.write(self.board.master, b"\x01")  # enter the raw REPL
                self.hold_input = False
            return b""
        return data

    def _track_repl(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-64:]
        raw_at = self.tail.rfind(RAW_BANNER)
        friendly_at = self.tail.rfind(FRIENDLY_BANNER)
        if raw_at >= 0 or friendly_at >= 0:
            self.raw_repl = raw_at > friendly_at
            self.tail = b""

    def _read_board(self) -> None:
        assert self.board is not None
        try:
            data = os.read(self.board.master, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self._board_exited()
            return
        out = self.cooker.cook(self._filter_output(data))
        if out:
            self._track_repl(out)
            self._broadcast(out)

    def _broadcast(self, data: bytes) -> None:
        self.pty.write(data)
        if self.client is not None:
            self.client.write(data)
            self._update_client_events()

    # -- input to the board -------------------------------------------------------------
    def _from_client(self, data: bytes) -> None:
        if CTRL_C in data and self.board is not None and not self.hold_input:
            parts = data.split(bytes([CTRL_C]))
            for i, part in enumerate(parts):
                self.pending_in += part
                if i < len(parts) - 1:
                    self._flush_input()
                    if not self.pending_in and self.board.executing_with_sigint():
                        self.board.interrupt()
                    else:
                        self.pending_in.append(CTRL_C)
        else:
            self.pending_in += data
        self._flush_input()

    def _flush_input(self) -> None:
        if self.board is None or self.hold_input or not self.pending_in:
            return
        if b"\r\n" in self.pending_in and self.board.at_repl():
            # The Unix port's REPL turns every LF it reads into CR, so a CR LF in pasted
            # source would end two lines; a board's REPL reads it as one line end.
            self.pending_in[:] = self.pending_in.replace(b"\r\n", b"\n")
        try:
            n = os.write(self.board.master, self.pending_in)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            return  # the board is going away; input waits for the next one
        del self.pending_in[:n]

    def _read_pty(self) -> None:
        try:
            data = os.read(self.pty.master, 65536)
        except (BlockingIOError, OSError):
            return
        if data:
            self._from_client(data)

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        if self.client is not None:  # one cable at a time: the newest wins
            self._drop_client()
        self.client = TcpClient(sock)
        self.sel.register(sock, selectors.EVENT_READ, "client")

    def _drop_client(self) -> None:
        assert self.client is not None
        self.sel.unregister(self.client.sock)
        self.client.sock.close()
        self.client = None

    def _read_client(self) -> None:
        assert self.client is not None
        try:
            data = self.client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_client()
            return
        self._from_client(data)

    def _update_client_events(self) -> None:
        if self.client is None:
            return
        events = selectors.EVENT_READ
        if self.client.backlog:
            events |= selectors.EVENT_WRITE
        if len(self.pending_in) > MAX_PENDING_INPUT:
            events &= ~selectors.EVENT_READ
        self.sel.modify(self.client.sock, events or selectors.EVENT_WRITE, "client")

    # -- main loop ----------------------------------------------------------------------
    def serve(self) -> None:
        self.running = True
        self._start("friendly")
        try:
            while self.running:
                self._update_board_events()
                self._update_client_events()
                for key, mask in self.sel.select(timeout=0.5):
                    self._dispatch(key.data, mask)
        finally:
            self.close()

    def _update_board_events(self) -> None:
        if self.board is not None:
            events = selectors.EVENT_READ
            if self.pending_in and not self.hold_input:
                events |= selectors.EVENT_WRITE
            self.sel.modify(self.board.master, events, "board")
        # Back-pressure on the pty: stop reading it while the board is behind; wait for
        # it to be writable while output is waiting for the host.
        paused = len(self.pending_in) > MAX_PENDING_INPUT
        events = (0 if paused else selectors.EVENT_READ) | (
            selectors.EVENT_WRITE if self.pty.backlog else 0
        )
        if events != self.pty_events:
            if not self.pty_events:
                self.sel.register(self.pty.master, events, "pty")
            elif not events:
                self.sel.unregister(self.pty.master)
            else:
                self.sel.modify(self.pty.master, events, "pty")
            self.pty_events = events

    def _dispatch(self, what: str, mask: int) -> None:
        if what == "board":
            if mask & selectors.EVENT_WRITE:
                self._flush_input()
            if mask & selectors.EVENT_READ:
                self._read_board()
        elif what == "pty":
            if mask & selectors.EVENT_WRITE:
                self.pty.flush()
            if mask & selectors.EVENT_READ:
                self._read_pty()
        elif what == "listen":
            self._accept()
        elif what == "client" and self.client is not None:
            if mask & selectors.EVENT_WRITE:
                self.client.flush()
            if mask & selectors.EVENT_READ:
                self._read_client()

    def close(self) -> None:
        if self.board is not None:
            self.board.stop()
            self.board = None
        if self.client is not None:
            self.client.sock.close()
            self.client = None
        self.listener.close()
        self.pty.close()
        self.sel.close()
