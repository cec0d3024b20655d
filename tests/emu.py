"""Helpers to drive the real firmware on the emulated board, in-process or on the Unix port."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

from boards.emu import plant
from boards.emu.board import EmuBoard
from boards.emu.clock import WatchdogReset
from boards.emu.runner import ScenarioDriver, boot
from boards.emu.runner import run as run_scenario
from boards.emu.scenario import Scenario
from pump.app import App
from pump.ticks import ticks_diff
from pumpctl import eventlog
from pumpctl.firmware import FIRMWARE, firmware_command

REPO = Path(__file__).resolve().parents[1]


def scenario(**overrides) -> dict:
    """A minimal valid scenario dict; keyword arguments replace top-level keys."""
    raw = {"format": "pumpscenario/1", "name": "test", "duration": "1:00", "actions": []}
    raw.update(overrides)
    return raw


def run_inprocess(raw: dict) -> tuple[App, str]:
    """Run a scenario dict to its end under CPython; (app, event log text)."""
    out = io.StringIO()
    app = run_scenario(Scenario(raw, plant.FAULTS), out)
    return app, out.getvalue()


def events(text: str):
    return eventlog.parse(text)


def run_subprocess(raw: dict, tmp_path: Path, cpython: bool, heap: str | None = None) -> bytes:
    """Run a scenario dict through firmware/main.py on an interpreter; the event log bytes."""
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(raw))
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        firmware_command([str(path)], cpython=cpython, heap=heap),
        capture_output=True,
        cwd=FIRMWARE,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc.stdout


class Bench:
    """The firmware on the emulated board, stepped by hand (unit and stateful tests)."""

    def __init__(self, raw: dict | None = None):
        self.out = io.StringIO()
        self.scenario = Scenario(raw or scenario(duration="1000:00"), plant.FAULTS)
        self.board = EmuBoard(self.scenario, self.out)
        self.driver = ScenarioDriver(self.board, [])
        self.app = boot(self.board, self.scenario, self.driver, "power_on")

    def reboot(self, reason: str = "power_cut") -> None:
        """Restart the firmware: RAM is lost, the board (flash, plunger, clock) stays."""
        self.app = boot(self.board, self.scenario, self.driver, reason)

    def run_for(self, ms: int) -> None:
        """Run the scheduler until ``ms`` more virtual ms have passed."""
        clock = self.board.clock
        end = clock.now + ms
        while True:
            sched = self.app.sched
            try:
                while clock.now + self._wait(sched) <= end:
                    sched.step()
                break
            except WatchdogReset:  # as on the board: the pump restarts, the world goes on
                self.reboot("watchdog")
        clock.now = max(clock.now, end)  # no task is due before ``end``; never back in time
        self.app.sched.sync(clock.ticks_ms())

    def _wait(self, sched) -> int:
        """Virtual ms until the next task is due (0 when one is late)."""
        return max(0, ticks_diff(sched.next_task().due, self.board.clock.ticks_ms()))

    @property
    def now(self) -> int:
        return self.board.clock.ticks_ms()

    def events(self, kind: str | None = None):
        evs = eventlog.parse(self.out.getvalue())
        return [e for e in evs if kind is None or e.kind == kind]
