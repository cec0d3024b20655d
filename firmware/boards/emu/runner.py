"""Run the firmware on the emulated board through a scenario, in virtual time.

Usage (MicroPython Unix port or CPython, from the firmware directory):
    main.py [--events FILE] [--speed X] SCENARIO
Events go to stdout unless --events is given. Exit status 0 on a complete
run, 2 when the scenario or the arguments are bad (message on stderr).
"""

import sys

from pump import commands, glucose
from pump.sched import Task
from pump.units import InputError
from pump.uptime import DAY_MS

from boards import boot as board_boot
from boards.emu import plant as plant_model
from boards.emu import scenario as scenario_mod
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun, WatchdogReset

USAGE = "usage: main.py [--events FILE] [--speed X] SCENARIO"


class Reboot(Exception):
    """The board restarts: RAM is lost, flash and the plunger position are kept."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class ScenarioDriver:
    """The emulated world's side of a scenario: host commands and fault injections on time."""

    def __init__(self, board, actions):
        self.board = board
        self.app = None  # the app of the current boot
        self.actions = [a for a in actions if a.kind != "press"]  # presses live in EmuButton
        self.next = 0
        self.streams = []  # [stream action, next reading] of the CGM streams begun

    def tick(self, now):
        clock_ms = self.board.clock.now
        while True:
            action = self._take_due(clock_ms)
            if action is None:
                return
            self.apply(now, action)

    def _take_due(self, clock_ms):
        """The next action due by ``clock_ms``, in (time, place in the file) order, taken
        (a reboot action does not come back); a CGM stream's readings come one by one."""
        actions = self.actions
        while True:
            best = None  # a stream's cursor, or None: the list's next action
            at = n = 0
            if self.next < len(actions) and actions[self.next].at <= clock_ms:
                at = actions[self.next].at
                n = actions[self.next].n
            else:
                at = -1
            for cursor in self.streams:
                t = cursor[0].data.at_of(cursor[1])
                sn = cursor[0].n
                if t <= clock_ms and (at < 0 or t < at or (t == at and sn < n)):
                    best, at, n = cursor, t, sn
            if at < 0:
                return None
            if best is not None:
                stream, j = best
                if j + 1 < len(stream.data.readings):
                    best[1] = j + 1
                else:
                    self.streams.remove(best)
                return stream.data.reading(j, stream.n)
            action = actions[self.next]
            self.next += 1
            if action.kind != "cgm_stream":
                return action
            self.streams.append([action, 0])  # its first reading is due now: next round

    def apply(self, now, action):
        kind = action.kind
        if kind == "command":
            commands.execute(self.app, now, action.data, "host")
            return
        if kind == "cgm":  # a reading the CGM sends through the host, as a command
            commands.execute(self.app, now, ("cgm", action.data, glucose.CGM), "host")
            return
        if kind == "cgm_stream":  # all of it now (the co-simulation's "do")
            stream = action.data
            for j in range(len(stream.readings)):
                self.apply(now, stream.reading(j, action.n))
            return
        self.app.log.emit("inject", "kind=%s" % kind)
        board = self.board
        if kind == "stall":
            self.stall(action.data[0], action.data[1])
        elif kind == "battery":
            board.battery.set_percent(action.data)
        elif kind == "connector":
            board.connector.is_closed = action.data
        elif kind == "reboot":
            raise Reboot("power_cut")
        else:
            board.plant.set_fault(kind, action.data)

    def stall(self, name, ms):
        """Make the next run of task ``name`` take ``ms`` of virtual time."""
        for task in self.app.sched.tasks:
            if task.name == name:
                task.fn = _stalled_once(task, self.board.clock, ms)
                return
        self.app.log.emit("inject", "kind=stall error=unknown_task")


def _stalled_once(task, clock, ms):
    """``task.fn`` wrapped so that its next run lets ``ms`` of virtual time pass."""
    original = task.fn

    def stalled(now):
        clock.advance(ms)
        task.fn = original
        original(now)

    return stalled


def boot(board, scenario, driver, reason):
    """A fresh app (empty RAM) on ``board``, recovering from the board's flash."""
    tod = (scenario.start_tod + board.clock.now) % DAY_MS
    board.watchdog.restart()  # a reset restarts the hardware watchdog
    # the profile and settings on flash (from a set_profile before this reboot) win
    app = board_boot.assemble(board, scenario.settings, scenario.profile, tod, board.clock.now)
    driver.app = app
    app.sched.add(Task("scenario", 1000, driver.tick, budget_ms=50))
    board_boot.start(app, reason)
    return app


def run(scenario, out, speed=0, board=None, actions=None):
    """Run ``scenario`` to its end; events are written to ``out``. Returns the last app.

    ``board`` replaces the default EmuBoard (e.g. with trace-driven sensors for a
    replay) and ``actions`` the scenario's actions."""
    if board is None:
        board = EmuBoard(scenario, out, speed)
    driver = ScenarioDriver(board, scenario.actions if actions is None else actions)
    app = boot(board, scenario, driver, "power_on")
    while True:
        try:
            app.sched.run()
        except EndOfRun:
            break
        except Reboot as reboot:
            reason = reboot.reason
        except WatchdogReset:
            reason = "watchdog"
        # a reset loses the RAM: the old app must be garbage before the new one is built,
        # or both are held at once (on a 64 KB heap they do not fit)
        app = driver.app = None
        app = boot(board, scenario, driver, reason)
    now = board.clock.ticks_ms()
    app.sched.sync(now)
    app.finish(now)
    return app


def parse_args(argv):
    events = None
    speed = 0
    path = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--events", "--speed"):
            if i + 1 >= len(argv):
                raise InputError(arg, "needs a value")
            value = argv[i + 1]
            if arg == "--events":
                events = value
            else:
                try:
                    speed = float(value)
                except ValueError:
                    raise InputError(arg, "expected a number, got %r" % value) from None
                if speed <= 0:
                    raise InputError(arg, "must be positive")
            i += 2
        elif arg.startswith("-"):
            raise InputError(arg, "unknown option; " + USAGE)
        elif path is None:
            path = arg
            i += 1
        else:
            raise InputError(arg, "unexpected argument; " + USAGE)
    if path is None:
        raise InputError("SCENARIO", "missing; " + USAGE)
    return path, events, speed


def main(argv):
    try:
        path, events, speed = parse_args(argv)
        scenario = scenario_mod.load(path, plant_model.FAULTS)
    except InputError as e:
        sys.stderr.write("error: %s\n" % e)
        sys.exit(2)
    out = open(events, "w") if events else sys.stdout
    try:
        run(scenario, out, speed)
    finally:
        if events:
            out.close()
