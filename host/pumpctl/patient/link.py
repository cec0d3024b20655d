"""The host's end of the co-simulation link to the firmware (boards/emu/cosim.py).

Three ways to reach the same firmware, one request/reply interface:
``InProcess`` (CPython, this process: fastest, for the bench), ``Subprocess`` on CPython or
on the MicroPython Unix port (the interpreter the firmware ships on).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

from pumpctl.errors import PumpctlError
from pumpctl.firmware import FIRMWARE, firmware_command, import_firmware

INTERPRETERS = ("inprocess", "cpython", "unix")


@dataclass
class Reply:
    events: list[str]  # event lines (events/1), without newlines
    now_ms: int
    delivered_nl: int  # reached the tissue, since boot
    spilled_nl: int  # lost at a leak or an open line
    pushed_nl: int  # pushed into the line by the motor


def parse_reply(text: str, request: str) -> Reply:
    lines = text.rstrip("\n").split("\n")
    last = lines[-1]
    if last.startswith("!"):
        raise PumpctlError(f"the firmware refused {request!r}: {last[2:]}")
    fields = last.split()
    if fields[0] != "=" or len(fields) != 5:
        raise PumpctlError(f"unexpected co-simulation reply to {request!r}: {last!r}")
    return Reply(lines[:-1], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[4]))


class InProcess:
    def __init__(self, scenario: dict):
        import_firmware()
        from boards.emu.cosim import CoSim
        from pump.units import InputError

        try:
            self.sim = CoSim(scenario)
        except InputError as e:
            raise PumpctlError(f"the firmware refused the co-simulation scenario: {e}") from None

    def request(self, line: str) -> Reply:
        return parse_reply(self.sim.handle(line), line)

    def close(self) -> None:
        pass


class Subprocess:
    def __init__(self, scenario: dict, cpython: bool):
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        self.where = "CPython" if cpython else "the MicroPython Unix port"
        self.proc = subprocess.Popen(
            firmware_command(["--cosim"], cpython=cpython), cwd=FIRMWARE, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.request(json.dumps(scenario, sort_keys=True))

    def request(self, line: str) -> Reply:
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            self._died(line)
        lines = []
        while True:
            got = proc.stdout.readline()
            if not got:
                self._died(line)
            lines.append(got)
            if got[0] in "=!":
                return parse_reply("".join(lines), line)

    def _died(self, line: str):
        self.proc.kill()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        tail = "\n".join(err.strip().splitlines()[-10:])
        raise PumpctlError(f"the firmware on {self.where} stopped at {line!r}:\n{tail}")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def connect(scenario: dict, interpreter: str = "inprocess"):
    if interpreter == "inprocess":
        return InProcess(scenario)
    return Subprocess(scenario, cpython=interpreter == "cpython")
