"""Lock-step co-simulation: the host steps the firmware on the emulated board in virtual time.

The host (pumpctl.patient.cosim) holds a virtual patient; this side runs the real app on
the EmuBoard and its infusion-line plant. One request per line on stdin, one reply on
stdout (the same ``handle`` serves an in-process host under CPython):

    <scenario JSON>        first line: a pumpscenario/1 object (settings, basal, seed, plant)
    run <ms>               run the firmware until <ms> of virtual time since boot
    do <action JSON>       apply a scenario action now: {"command": ..., "args": ...},
                           {"fault": ...} or {"press": ms} (docs/scenarios.md)
    nodetect               line supervision off (a pump without occlusion/disconnect detection)
    end                    settle and log the totals

A reply is the event lines emitted meanwhile (events/1), then one line
``= <now_ms> <delivered_nl> <spilled_nl> <pushed_nl>`` (insulin that reached the tissue,
that was lost, and that the motor pushed, since boot), or ``! <error>`` for a bad request.
"""

import json
import sys

from pump.units import InputError

from boards.emu import plant as plant_model
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun, WatchdogReset
from boards.emu.runner import Reboot, ScenarioDriver, boot
from boards.emu.scenario import Scenario


class _Lines:
    """The board's event sink: lines kept until the next reply."""

    def __init__(self):
        self.lines = []

    def write(self, line):
        self.lines.append(line)


class CoSim:
    def __init__(self, raw):
        self.out = _Lines()
        self.scenario = Scenario(raw, plant_model.FAULTS)
        self.board = EmuBoard(self.scenario, self.out)
        self.board.clock.end = 0
        self.driver = ScenarioDriver(self.board, [])
        self.detect = True
        self.app = self._boot("power_on")

    def _boot(self, reason):
        app = boot(self.board, self.scenario, self.driver, reason)
        if not self.detect:
            app.hooks.remove(app.line.tick)
        return app

    def run_to(self, ms):
        clock = self.board.clock
        if ms <= clock.now:
            return
        clock.end = ms
        while True:
            try:
                self.app.sched.run()
            except EndOfRun:
                return
            except Reboot as reboot:
                self.app = self._boot(reboot.reason)
            except WatchdogReset:
                self.app = self._boot("watchdog")

    def handle(self, line):
        """One request -> its reply (without a trailing newline)."""
        word, _, rest = line.strip().partition(" ")
        try:
            if word == "run":
                self.run_to(int(rest))
            elif word == "do":
                self._do(rest)
            elif word == "nodetect":
                if self.detect:
                    self.detect = False
                    self.app.hooks.remove(self.app.line.tick)
            elif word == "end":
                now = self.board.clock.ticks_ms()
                self.app.sched.sync(now)
                self.app.finish(now)
            else:
                raise InputError("request", "unknown %r" % word)
        except (InputError, ValueError) as e:
            return self._reply("! %s" % e)
        plant = self.board.plant
        return self._reply(
            "= %d %d %d %d"
            % (self.board.clock.now, plant.delivered_nl(), plant.spilled_nl(), plant.pushed_nl)
        )

    def _do(self, text):
        item = json.loads(text)
        if not isinstance(item, dict):
            raise InputError("do", "expected an action object")
        item["at"] = "0:00"
        actions = self.scenario._action(item, 0, "do", plant_model.FAULTS)
        now = self.board.clock.ticks_ms()
        self.app.sched.sync(now)
        for action in actions:
            if action.kind == "press":  # the user's hand on the pump's button, from now
                start = self.board.clock.now + action.at
                self.board.button.press(start, start + action.data)
            else:
                self.driver.apply(now, action)

    def _reply(self, last):
        lines = self.out.lines
        self.out.lines = []
        lines.append(last)
        return "".join(lines)


def main():
    """Serve requests from stdin until it closes (MicroPython Unix port or CPython)."""
    first = sys.stdin.readline()
    try:
        sim = CoSim(json.loads(first))
    except (InputError, ValueError) as e:
        sys.stdout.write("! %s\n" % e)
        return
    sys.stdout.write("= 0 0 0 0\n")
    sys.stdout.flush()
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        sys.stdout.write(sim.handle(line) + "\n")
        sys.stdout.flush()
