"""The emulated board in service: ``pumpctl vboard`` runs this from main.py.

Unlike a scenario run it has no end: the clock follows wall time times
``vboard.speed``, the host talks to the firmware over the serial link (stdin
and stdout of the Unix port, relayed to a pty and a TCP port) and the event
log goes out as EVENT frames. Ctrl-C is ignored while delivering
(``kbd_intr(-1)``) until the host asks for maintenance.
"""

import json
import select
import sys

from pump.filestore import FileStore
from pump.sched import Task

from boards import boot, hal
from boards.emu import tracefile
from boards.emu.board import EmuBoard
from boards.emu.plant import FAULTS
from boards.emu.runner import ScenarioDriver
from boards.emu.scenario import USER_KINDS, Scenario

DEFAULT_WORLD = {
    "format": "pumpscenario/1",
    "name": "vboard",
    "basal_u_per_h": [[0, 1.0]],
}


class StdioLink(hal.Link):
    """The Unix port's stdin/stdout: the board's USB serial."""

    def __init__(self):
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer

    def any(self):
        return 1 if self.poll.poll(0) else 0

    def readinto(self, buf):
        data = self.inp.read(1)  # poll says one byte is there; more may not be
        if not data:
            return 0
        buf[0] = data[0]
        return 1

    def write(self, data):
        return self.out.write(data)


def serve(cfg):
    """Run the pump until the host asks for maintenance. ``cfg`` is the vboard module."""
    raw = DEFAULT_WORLD
    if cfg.scenario is not None:
        raw = json.loads(cfg.scenario.read())
    scenario = Scenario(raw, FAULTS)
    board = EmuBoard(scenario, None, cfg.speed)
    board.clock.end = None  # in service there is no end of run
    board.link = StdioLink()
    actions = scenario.actions
    if cfg.trace is not None:
        # Open loop, as `pumpctl replay`: the sensor and connector read the trace.
        samples = tracefile.GridSamples(cfg.trace)  # the host turned the trace into a grid
        board.pressure = tracefile.TracePressure(samples, board.clock)
        board.connector = tracefile.TraceConnector(samples, board.clock, scenario.connector_fitted)
        actions = [a for a in actions if a.kind in USER_KINDS]
    # Durable state on the board's own littlefs flash: it survives soft resets,
    # power cycles of the vboard and re-flashing (REL-1).
    import os

    try:
        os.mkdir("/data")
    except OSError:
        pass
    board.flash = FileStore("/data")
    return run_world(board, scenario, actions, "reset")


def run_world(board, scenario, actions, reason=None):
    """The app on an emulated ``board`` in service, through the one boot path; the
    scenario's timed actions (faults, presses, commands) play in real time."""
    driver = ScenarioDriver(board, actions)

    def build():
        app = boot.assemble(board, scenario.settings, scenario.profile, scenario.start_tod)
        driver.app = app
        app.sched.add(Task("scenario", 1000, driver.tick, budget_ms=50))
        return app

    return boot.serve(build(), reason, build)
