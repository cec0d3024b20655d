# Runs inside the MicroPython Unix port (MICROPYPATH = an emu bundle) for
# tools/bench_memory.py: runs a scenario like boards/emu/runner.py does, one
# scheduler step at a time, and measures per step
# - garbage: heap growth (gc.mem_alloc) with automatic GC off; what makes the GC run;
# - gross: every byte allocated (micropython.mem_total), including the frames of
#   functions with more than 11 state slots, which the VM takes from the heap and
#   frees again on return (no garbage, but an allocation all the same).
# Allocations inside the emulated hardware (the board's driver methods: plant model,
# virtual clock) are measured apart and taken out: on a real board that is silicon.
# Prints one JSON object.
#   micropython mem_probe.py SCENARIO WARMUP_MS [UNTIL_MS]
import gc
import json
import sys

import micropython
from boards import hal
from boards.emu import plant as plant_model
from boards.emu import scenario as scenario_mod
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun
from boards.emu.runner import ScenarioDriver, boot

HW = [0]  # garbage made inside emulated-hardware calls
ARITY = {"wait_until": 1, "retract": 1, "set": 1, "readinto": 1, "write": 1, "tone": 2, "watch": 2,
         "feed": 1}  # the scheduler feeds with the ticks it read (feed(now))


def _measured(fn, arity):
    # One wrapper per arity: a *args wrapper would allocate its tuple in the caller.
    mem_alloc = gc.mem_alloc
    if arity == 0:

        def call0():
            before = mem_alloc()
            result = fn()
            HW[0] += mem_alloc() - before
            return result

        return call0
    if arity == 1:

        def call1(a):
            before = mem_alloc()
            result = fn(a)
            HW[0] += mem_alloc() - before
            return result

        return call1

    def call2(a, b):
        before = mem_alloc()
        result = fn(a, b)
        HW[0] += mem_alloc() - before
        return result

    return call2


def measure_hardware(board):
    """Route every HAL driver method of ``board`` through a measuring wrapper."""
    for slot, cls in hal.DRIVERS:
        driver = getattr(board, slot)
        for name in dir(cls):
            if name.startswith("_") or not callable(getattr(cls, name)):
                continue
            setattr(driver, name, _measured(getattr(driver, name), ARITY.get(name, 0)))


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
    measure_hardware(board)
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
    hardware = [0] * n
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
        hw = HW[0]
        before = mem_total()
        try:
            task = step()
        except EndOfRun:
            break
        used = mem_total() - before
        in_hw = HW[0] - hw
        garbage = mem_alloc() - heap - in_hw
        if clock.now < warmup:
            continue
        if until and clock.now >= until:
            break
        i = 0
        while tasks[i] is not task:
            i += 1
        steps[i] += 1
        hardware[i] += in_hw
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
            {
                "name": tasks[i].name,
                "steps": steps[i],
                "quiet": quiet[i],
                "quiet_bytes": quiet_bytes[i],
                "quiet_max": quiet_max[i],
                "quiet_garbage": quiet_garbage[i],
                "quiet_garbage_max": garbage_max[i],
                "event_steps": loud[i],
                "event_bytes": loud_bytes[i],
                "event_garbage": loud_garbage[i],
                "hardware_garbage": hardware[i],
            }
            for i in range(n)
        ],
    }
    print(json.dumps(report))


main()
