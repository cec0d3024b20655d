# Runs inside the MicroPython Unix port (MICROPYPATH = an emu bundle) for
# tools/bench_memory.py: runs a scenario like boards/emu/runner.py does, one
# scheduler step at a time, and measures per step
# - garbage: heap growth (gc.mem_alloc) with automatic GC off; what makes the GC run;
# - gross: every byte allocated (micropython.mem_total), including the frames of
#   functions with more than 11 state slots, which the VM takes from the heap and
#   frees again on return (no garbage, but an allocation all the same).
# Prints one JSON object.
#   micropython mem_probe.py SCENARIO WARMUP_MS [UNTIL_MS]
import gc
import json
import sys

import micropython
from boards.emu import plant as plant_model
from boards.emu import scenario as scenario_mod
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun
from boards.emu.runner import ScenarioDriver, boot


class LineSink:
    """Stands for the link: counts event lines (telemetry) without keeping them."""

    def __init__(self):
        self.lines = 0

    def write(self, text):
        self.lines += 1


def main():
    path = sys.argv[1]
    warmup = int(sys.argv[2])
    until = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    scenario = scenario_mod.load(path, plant_model.FAULTS)
    sink = LineSink()
    board = EmuBoard(scenario, sink, 0)
    app = boot(board, scenario, ScenarioDriver(board, scenario.actions), "power_on")
    gc.collect()
    boot_alloc = gc.mem_alloc()
    tasks = app.sched.tasks
    n = len(tasks)
    # per task: steps, quiet steps (no event line), quiet bytes, quiet max, event steps,
    # event bytes; preallocated so the probe itself allocates nothing per step
    steps = [0] * n
    quiet = [0] * n
    quiet_bytes = [0] * n
    quiet_max = [0] * n
    quiet_garbage = [0] * n
    garbage_max = [0] * n
    loud = [0] * n
    loud_bytes = [0] * n
    loud_garbage = [0] * n
    clock = board.clock
    step = app.sched.step
    mem_total = micropython.mem_total
    mem_alloc = gc.mem_alloc
    gc.disable()
    count = 0
    while True:
        count += 1
        if count == 2000:
            count = 0
            gc.collect()  # outside the measured steps
        lines = sink.lines
        heap = mem_alloc()
        before = mem_total()
        try:
            task = step()
        except EndOfRun:
            break
        used = mem_total() - before
        garbage = mem_alloc() - heap
        if clock.now < warmup:
            continue
        if until and clock.now >= until:
            break
        i = 0
        while tasks[i] is not task:
            i += 1
        steps[i] += 1
        if sink.lines == lines:
            quiet[i] += 1
            quiet_bytes[i] += used
            if used > quiet_max[i]:
                quiet_max[i] = used
            quiet_garbage[i] += garbage
            if garbage > garbage_max[i]:
                garbage_max[i] = garbage
        else:
            loud[i] += 1
            loud_bytes[i] += used
            loud_garbage[i] += garbage
    gc.enable()
    gc.collect()
    report = {
        "virtual_ms": clock.now,
        "boot_alloc": boot_alloc,
        "end_alloc": gc.mem_alloc(),
        "peak": micropython.mem_peak(),
        "lines": sink.lines,
        "tasks": [
            {"name": tasks[i].name, "steps": steps[i], "quiet": quiet[i],
             "quiet_bytes": quiet_bytes[i], "quiet_max": quiet_max[i],
             "quiet_garbage": quiet_garbage[i], "quiet_garbage_max": garbage_max[i],
             "event_steps": loud[i], "event_bytes": loud_bytes[i],
             "event_garbage": loud_garbage[i]}
            for i in range(n)
        ],
    }
    print(json.dumps(report))


main()
