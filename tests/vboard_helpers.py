"""Start a real ``pumpctl vboard`` process for end-to-end tests and talk to it."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from pumpctl.vboard import stop_process

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 20.0


def pumpctl_argv() -> list[str]:
    """The host-tool subcommands, run as ``pumpctl`` runs them."""
    return [sys.executable, "-m", "pumpctl.cli"]


class VBoardProcess:
    """A vboard subprocess; ``url`` and ``pty`` are its two serial endpoints."""

    def __init__(self, flash: Path, *extra: str):
        self.flash = flash
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [*pumpctl_argv(), "vboard", "--flash", str(flash), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        self.lines: list[str] = []
        self.url = self.pty = ""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        fd = self.proc.stdout.fileno()
        pending = b""
        while not self.url:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                self.stop()
                raise AssertionError(f"vboard did not start: {self.lines}")
            chunk = os.read(fd, 4096)  # unbuffered: the selector sees every byte
            if not chunk:
                self.stop()
                raise AssertionError(f"vboard exited: {self.lines} {pending!r}")
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.decode()
                self.lines.append(line)
                if line.startswith("vboard: pty "):
                    self.pty = line.split()[-1]
                elif line.startswith("vboard: socket://"):
                    self.url = line.split()[-1]
        sel.close()

    def mpremote(
        self, *args: str, port: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "mpremote"), "connect", port or self.url, *args],
            capture_output=True,
            timeout=timeout,
            cwd=REPO,
        )

    def stop(self) -> str:
        stop_process(self.proc)
        rest = self.proc.stdout.read().decode() if self.proc.stdout else ""
        return "\n".join(self.lines) + "\n" + rest
