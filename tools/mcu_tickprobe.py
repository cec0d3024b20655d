# Runs ON the emulated Cortex-M3 (pasted over the raw REPL by tools/bench_mcu.py): runs a
# scenario like boards/emu/runner.py, one scheduler step at a time, and measures each step's
# work in instructions. QEMU runs with -icount shift=0, so 1 us of the board's clock is 1000
# instructions (time.ticks_us resolution: 1000 instructions).
# What the emulated hardware does inside driver calls (plant model, virtual clock, flash
# store) is timed apart and taken out, with the measuring wrapper's own cost calibrated
# and subtracted: on a real board that work is silicon. The "scenario" task is the emulated
# world, not the firmware. The host sends the scenario JSON (SIZE bytes) on stdin after
# starting `probe(SIZE)`; one line "probe {json}" comes back.
import gc
import json
import sys
import time

from boards import hal
from boards.emu import plant as plant_model
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun, WatchdogReset
from boards.emu.runner import Reboot, ScenarioDriver, boot
from boards.emu.scenario import Scenario

ticks_us = time.ticks_us
ticks_diff = time.ticks_diff
HW = [0, 0]  # us inside emulated-hardware calls, number of such calls
ARITY = {"wait_until": 1, "retract": 1, "set": 1, "readinto": 1, "write": 1, "tone": 2, "watch": 2}
FLASH_ARITY = {"read": 1, "write_atomic": 3, "write_at": 3, "remove": 1, "exists": 1}
WORLD_TASKS = ("scenario",)
SAMPLE_EVERY = 5000  # steps between heap samples (a collection, outside the timed steps)


def _timed(fn, arity):
    # one wrapper per arity: a *args wrapper would allocate its tuple in the caller
    if arity == 0:

        def call0():
            t = ticks_us()
            r = fn()
            HW[0] += ticks_diff(ticks_us(), t)
            HW[1] += 1
            return r

        return call0
    if arity == 1:

        def call1(a):
            t = ticks_us()
            r = fn(a)
            HW[0] += ticks_diff(ticks_us(), t)
            HW[1] += 1
            return r

        return call1
    if arity == 2:

        def call2(a, b):
            t = ticks_us()
            r = fn(a, b)
            HW[0] += ticks_diff(ticks_us(), t)
            HW[1] += 1
            return r

        return call2

    def call3(a, b, c):
        t = ticks_us()
        r = fn(a, b, c)
        HW[0] += ticks_diff(ticks_us(), t)
        HW[1] += 1
        return r

    return call3


def time_hardware(board):
    for slot, cls in hal.DRIVERS:
        driver = getattr(board, slot)
        for name in dir(cls):
            if not name.startswith("_") and callable(getattr(cls, name)):
                setattr(driver, name, _timed(getattr(driver, name), ARITY.get(name, 0)))
    flash = board.flash
    for name in FLASH_ARITY:
        if hasattr(flash, name):
            setattr(flash, name, _timed(getattr(flash, name), FLASH_ARITY[name]))


def wrapper_cost_ns(n=2000):
    """ns (instructions) a timed call adds outside what it counts as hardware, per call."""

    def noop(a):
        return a

    wrapped = _timed(noop, 1)
    t = ticks_us()
    for i in range(n):
        noop(i)
    plain = ticks_diff(ticks_us(), t)
    HW[0] = 0
    t = ticks_us()
    for i in range(n):
        wrapped(i)
    total = ticks_diff(ticks_us(), t)
    inside = HW[0]
    HW[0] = HW[1] = 0
    return (total - inside - plain) * 1000 // n


class Sink:
    """Counts event lines; the log itself is not needed here."""

    def __init__(self):
        self.lines = 0

    def write(self, text):
        self.lines += 1


def read_exactly(size):
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    parts = []
    while size > 0:
        part = stream.read(size)
        parts.append(part)
        size -= len(part)
    return b"".join(parts) if isinstance(parts[0], bytes) else "".join(parts)


def probe(size):
    scenario = Scenario(json.loads(read_exactly(size)), plant_model.FAULTS)
    overhead = wrapper_cost_ns()
    board = EmuBoard(scenario, Sink(), 0)
    time_hardware(board)
    driver = ScenarioDriver(board, scenario.actions)
    app = boot(board, scenario, driver, "power_on")
    gc.collect()
    booted = gc.mem_alloc()
    high = booted
    # Integers only in this loop: a float is a heap object on this port, and the garbage
    # would make the collector run (and be timed) far more than the firmware alone does.
    # Per step: raw us (step minus hardware), hardware calls; firmware ns = raw*1000 - calls*ovh.
    stats = {}  # task name -> [runs, raw us, calls, max ns]
    ticks = 0  # control ticks: a control step and the firmware's other steps until the next
    tick_raw = 0
    tick_calls = 0
    tick_max = 0
    cur_raw = -1  # the current control tick's raw us and calls; -1 before the first
    cur_calls = 0
    steps = 0
    report_at = 3600000  # a progress line per virtual hour
    while True:
        sched = app.sched
        hw0 = HW[0]
        calls0 = HW[1]
        t = ticks_us()
        try:
            task = sched.step()
        except EndOfRun:
            break
        except (Reboot, WatchdogReset) as e:
            reason = e.reason if isinstance(e, Reboot) else "watchdog"
            app = boot(board, scenario, driver, reason)
            continue
        raw = ticks_diff(ticks_us(), t) - (HW[0] - hw0)
        calls = HW[1] - calls0
        ns = raw * 1000 - calls * overhead
        name = task.name
        row = stats.get(name)
        if row is None:
            row = stats[name] = [0, 0, 0, 0]
        row[0] += 1
        row[1] += raw
        row[2] += calls
        if ns > row[3]:
            row[3] = ns
        if task is app.control_task:
            if cur_raw >= 0:
                ticks += 1
                tick_raw += cur_raw
                tick_calls += cur_calls
                ns = cur_raw * 1000 - cur_calls * overhead
                if ns > tick_max:
                    tick_max = ns
            cur_raw = raw
            cur_calls = calls
        elif cur_raw >= 0 and name not in WORLD_TASKS:
            cur_raw += raw
            cur_calls += calls
        steps += 1
        if board.clock.now >= report_at:
            print("at %d" % board.clock.now)
            report_at += 3600000
        if steps % SAMPLE_EVERY == 0:
            gc.collect()
            held = gc.mem_alloc()
            if held > high:
                high = held
    gc.collect()
    report = {
        "virtual_ms": board.clock.now,
        "overhead_ns": overhead,
        "booted": booted,
        "high": high,
        "end": gc.mem_alloc(),
        "heap": gc.mem_alloc() + gc.mem_free(),
        "control_ticks": ticks,
        "tick_raw_us": tick_raw,
        "tick_calls": tick_calls,
        "tick_max_ns": tick_max,
        "tasks": [[n, r[0], r[1], r[2], r[3]] for n, r in sorted(stats.items())],
    }
    print("probe " + json.dumps(report))
