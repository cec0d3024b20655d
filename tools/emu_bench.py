"""Scheduler benchmark, run INSIDE an interpreter (MicroPython Unix port or CPython).

Usage: micropython tools/emu_bench.py FIRMWARE_DIR SCENARIO [GRID]
With GRID (a trace prepared for replay by pumpctl.traceplay) the firmware is
fed the recorded sensor readings, as `pumpctl replay` does (docs/requirements.md, Targets:
"72 h of 10 Hz trace replayed"); without it, the closed-loop plant model.
Prints one line of key=value results for tools/bench.py:
- bare_s: the bare scheduler loop over the same ticks: the firmware's task table
  (same periods and phases) with empty task bodies
- full_s: the full firmware (control 10 Hz incl. pressure sampling, supervisor, scenario)
- ticks: scheduler steps of the full run
- alloc_quiet: bytes allocated per step on steps that emitted no event (the control path)
- alloc_all: bytes allocated per step over a sample window, events included
- peak: peak heap in bytes (MicroPython only, else -1)
"""

import gc
import sys
import time

sys.path.insert(0, sys.argv[1])

from boards.emu import plant  # noqa: E402
from boards.emu import scenario as scenario_mod  # noqa: E402
from boards.emu.clock import EndOfRun, VirtualClock  # noqa: E402
from boards.emu.runner import run  # noqa: E402
from pump.events import EventLog  # noqa: E402
from pump.sched import Scheduler, Task  # noqa: E402
from pump.uptime import Uptime  # noqa: E402


class NullOut:
    def write(self, text):
        return len(text)


def clock_s():
    try:
        return time.ticks_us() / 1e6
    except AttributeError:
        return time.perf_counter()


def bare(duration, table):
    clock = VirtualClock(0, duration)
    uptime = Uptime()
    sched = Scheduler(clock, uptime, EventLog(NullOut().write, uptime))
    for name, period, phase in table:
        sched.add(Task(name, period, lambda now: None, phase_ms=phase))
    sched.start()
    t0 = clock_s()
    try:
        sched.run()
    except EndOfRun:
        pass
    return clock_s() - t0


def make_board(scen, grid):
    """The emulated board, its sensor and connector fed from GRID when given."""
    from boards.emu.board import EmuBoard

    board = EmuBoard(scen, NullOut())
    if grid:
        from boards.emu import tracefile

        samples = tracefile.GridSamples(grid)
        board.pressure = tracefile.TracePressure(samples, board.clock)
        board.connector = tracefile.TraceConnector(samples, board.clock, scen.connector_fitted)
    return board


def allocation(scen, grid, steps):
    """Per-step allocation of the full app, measured step by step with the GC off."""
    from boards.emu.runner import ScenarioDriver, boot

    board = make_board(scen, grid)
    app = boot(board, scen, ScenarioDriver(board, []), "power_on")
    for _ in range(2000):  # warm up: first segment lookups, first pulses
        app.sched.step()
    quiet_bytes = quiet_steps = all_bytes = 0
    gc.collect()
    gc.disable()
    for _ in range(steps):
        events = app.log.count
        before = gc.mem_alloc()
        app.sched.step()
        used = gc.mem_alloc() - before
        all_bytes += used
        if app.log.count == events:
            quiet_bytes += used
            quiet_steps += 1
        if gc.mem_free() < 20000:
            gc.collect()
    gc.enable()
    return quiet_bytes / max(1, quiet_steps), all_bytes / steps


def main():
    scen = scenario_mod.load(sys.argv[2], plant.FAULTS)
    grid = sys.argv[3] if len(sys.argv) > 3 else None
    board = make_board(scen, grid)
    t0 = clock_s()
    app = run(scen, NullOut(), board=board)
    full_s = clock_s() - t0
    bare_s = bare(scen.duration, [(t.name, t.period, t.phase) for t in app.sched.tasks])
    ticks = 0
    for task in app.sched.tasks:
        ticks += task.runs
    if hasattr(gc, "mem_alloc"):
        quiet, every = allocation(scen, grid, 20000)
    else:
        quiet = every = -1
    try:
        import micropython

        peak = micropython.mem_peak()
    except (ImportError, AttributeError):
        peak = -1
    print(
        "tasks=%d bare_s=%.3f full_s=%.3f ticks=%d alloc_quiet=%.2f alloc_all=%.2f peak=%d"
        % (len(app.sched.tasks), bare_s, full_s, ticks, quiet, every, peak)
    )


main()
