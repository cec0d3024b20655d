# Runs ON the emulated Cortex-M3 (pasted over the raw REPL by tools/bench_mcu.py): runs a
# scenario like boards/emu/runner.py, one scheduler step at a time, and measures each step's
# work in instructions. QEMU runs with -icount shift=0, so 1 us of the board's clock is 1000
# instructions (time.ticks_us resolution: 1000 instructions).
# What the emulated hardware does inside driver calls (plant model, virtual clock, flash
# store) is timed apart and taken out, with the measuring wrapper's own cost calibrated
# and subtracted: on a real board that work is silicon. The "scenario" task is the emulated
# world, not the firmware. The scheduler's idle work (pump.idlegc: garbage collected between
# steps, not in them) is timed apart too and reported on its own.
# Bytes allocated per step: micropython.mem_total (every byte asked for, frames the VM takes
# from the heap and gives back included) and mem_current (what is not given back: garbage
# or kept), both counters of the qemu port (MICROPY_MEM_STATS), read outside the timed
# steps; the emulated hardware's allocations are taken out. A control tick is quiet when no
# event line is written during it.
# The host sends the scenario JSON (SIZE bytes) on stdin after starting `probe(SIZE)`; one
# line "probe {json}" comes back.
import gc
import json
import sys
import time

import micropython
from boards import hal
from boards.emu import plant as plant_model
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun, WatchdogReset
from boards.emu.runner import Reboot, ScenarioDriver, boot
from boards.emu.scenario import Scenario

ticks_us = time.ticks_us
ticks_diff = time.ticks_diff
GLITCH_US = 500  # a read that straddles the port's SysTick reload is 1000 us (1 ms) off
mem_total = micropython.mem_total
mem_current = micropython.mem_current
# inside emulated-hardware calls this step: us, calls, bytes asked for, bytes not given back
HW = [0, 0, 0, 0]
ARITY = {"wait_until": 1, "retract": 1, "set": 1, "readinto": 1, "write": 1, "tone": 2, "watch": 2,
         "feed": 1}  # the scheduler feeds with the ticks it read (feed(now))
FLASH_ARITY = {"read": 1, "write_atomic": 3, "write_at": 3, "remove": 1, "exists": 1}
WORLD_TASKS = ("scenario",)
CARRY = 0x10000000  # byte sums carry into a count of these (small ints stay small)
MASK = 0x3FFFFFFF  # the largest small int: the memory counters wrap past it


@micropython.native
def delta(after, before):
    """after - before of a counter that wraps at 2**30, without leaving the small ints."""
    d = (after & MASK) - (before & MASK)
    if d < -0x20000000:
        d = d + MASK + 1
    elif d > 0x20000000:
        d = d - MASK - 1
    return d


@micropython.native  # the measuring code is native: fewer instructions to take out
def now_us():
    """time.ticks_us without the qemu port's race: it reads the ms count, then the SysTick
    down-counter, and near a reload the two can disagree by a whole ms (the step then looks
    1,000,000 instructions longer, or shorter). Two reads that disagree: a third, past it."""
    a = ticks_us()
    b = ticks_us()
    d = ticks_diff(b, a)
    if -GLITCH_US < d < GLITCH_US:
        return b
    return ticks_us()


def _timed(fn, arity):
    # one wrapper per arity: a *args wrapper would allocate its tuple in the caller
    if arity == 0:

        @micropython.native
        def call0():
            m = mem_total()
            c = mem_current()
            t = now_us()
            r = fn()
            HW[0] += ticks_diff(now_us(), t)
            HW[2] += delta(mem_total(), m)
            HW[3] += delta(mem_current(), c)
            HW[1] += 1
            return r

        return call0
    if arity == 1:

        @micropython.native
        def call1(a):
            m = mem_total()
            c = mem_current()
            t = now_us()
            r = fn(a)
            HW[0] += ticks_diff(now_us(), t)
            HW[2] += delta(mem_total(), m)
            HW[3] += delta(mem_current(), c)
            HW[1] += 1
            return r

        return call1
    if arity == 2:

        @micropython.native
        def call2(a, b):
            m = mem_total()
            c = mem_current()
            t = now_us()
            r = fn(a, b)
            HW[0] += ticks_diff(now_us(), t)
            HW[2] += delta(mem_total(), m)
            HW[3] += delta(mem_current(), c)
            HW[1] += 1
            return r

        return call2

    @micropython.native
    def call3(a, b, c):
        m = mem_total()
        c0 = mem_current()
        t = now_us()
        r = fn(a, b, c)
        HW[0] += ticks_diff(now_us(), t)
        HW[2] += delta(mem_total(), m)
        HW[3] += delta(mem_current(), c0)
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
    best = None
    for _ in range(3):  # the least of three: a collection or a stray glitch only adds
        gc.collect()
        t = now_us()
        for i in range(n):
            noop(i)
        plain = ticks_diff(now_us(), t)
        HW[0] = 0
        t = now_us()
        for i in range(n):
            wrapped(i)
        total = ticks_diff(now_us(), t)
        cost = total - HW[0] - plain
        if best is None or cost < best:
            best = cost
    HW[0] = HW[1] = HW[2] = HW[3] = 0
    return best * 1000 // n


def region_cost_ns(n=2000):
    """ns (instructions) an empty timed region reads: taken out of every step."""
    best = None
    for _ in range(3):  # the least of three: a collection or a stray glitch only adds
        gc.collect()
        total = 0
        for _ in range(n):
            t = now_us()
            total += ticks_diff(now_us(), t)
        if best is None or total < best:
            best = total
    return best * 1000 // n


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


def _add(row, i, n):
    """row[i] += n, carrying whole CARRY units into row[i + 1]."""
    v = row[i] + n
    if v >= CARRY:
        v -= CARRY
        row[i + 1] += 1
    row[i] = v


def probe(size):
    scenario = Scenario(json.loads(read_exactly(size)), plant_model.FAULTS)
    overhead = wrapper_cost_ns()
    region = region_cost_ns()
    sink = Sink()
    board = EmuBoard(scenario, sink, 0)
    time_hardware(board)
    driver = ScenarioDriver(board, scenario.actions)
    app = boot(board, scenario, driver, "power_on")
    idle = app.sched.idle
    gc.collect()
    booted = gc.mem_alloc()
    # Integers only in this loop: a float is a heap object on this port, and the garbage
    # would make the collector run (and be timed) far more than the firmware alone does.
    # Per step: raw us (step minus hardware), hardware calls; firmware ns = raw*1000 - calls*ovh.
    # task name -> [runs, raw us, calls, max ns, quiet runs, quiet runs that allocated,
    #               quiet bytes asked for, carry, quiet bytes kept, carry, max quiet bytes,
    #               virtual ms at the max]
    stats = {}
    ticks = 0  # control ticks: a control step and the firmware's other steps until the next
    tick_raw = 0
    tick_calls = 0
    tick_max = 0
    tick_max_at = 0  # virtual ms at the start of the worst control tick: where to look
    tick_steps = 0
    cur_steps = 0
    cur_raw = -1  # the current control tick's raw us, calls, event lines, bytes; -1: none yet
    cur_calls = 0
    cur_lines = 0
    cur_total = 0
    cur_kept = 0
    cur_at = 0
    # quiet ticks: [count, that left garbage, bytes asked for, carry, bytes not given back,
    #               carry, most asked for in one, that asked for any]
    quiet = [0, 0, 0, 0, 0, 0, 0, 0]
    loud = [0, 0, 0]  # ticks that wrote events: count, bytes not given back, carry
    idle_stats = [0, 0, 0, 0]  # idle calls, their us, collections (calls over IDLE_GC_US), max us
    steps = 0
    report_at = 3600000  # a progress line per virtual hour
    while True:
        sched = app.sched
        HW[0] = HW[1] = HW[2] = HW[3] = 0
        lines = sink.lines
        m = mem_total()
        c = mem_current()
        at = board.clock.now
        t = now_us()
        try:
            task = sched.step()
        except EndOfRun:
            break
        except (Reboot, WatchdogReset) as e:
            reason = e.reason if isinstance(e, Reboot) else "watchdog"
            app = boot(board, scenario, driver, reason)
            idle = app.sched.idle
            continue
        raw = ticks_diff(now_us(), t) - HW[0]
        total = delta(mem_total(), m) - HW[2]
        kept = delta(mem_current(), c) - HW[3]
        lines = sink.lines - lines
        if idle is not None:
            t = now_us()
            idle()
            us = ticks_diff(now_us(), t)
            idle_stats[0] += 1
            idle_stats[1] += us
            if us > IDLE_GC_US:
                idle_stats[2] += 1
            if us > idle_stats[3]:
                idle_stats[3] = us
        calls = HW[1]
        ns = raw * 1000 - calls * overhead - region
        name = task.name
        row = stats.get(name)
        if row is None:
            row = stats[name] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        row[0] += 1
        row[1] += raw
        row[2] += calls
        if ns > row[3]:
            row[3] = ns
            row[11] = at
        if lines == 0:
            row[4] += 1
            if total or kept:
                row[5] += 1
                _add(row, 6, total)
                _add(row, 8, kept)
                if total > row[10]:
                    row[10] = total
        if task is app.control_task:
            if cur_raw >= 0:
                ticks += 1
                tick_raw += cur_raw
                tick_calls += cur_calls
                tick_steps += cur_steps
                ns = cur_raw * 1000 - cur_calls * overhead - cur_steps * region
                if ns > tick_max:
                    tick_max = ns
                    tick_max_at = cur_at
                if cur_lines:
                    loud[0] += 1
                    _add(loud, 1, cur_kept)
                else:
                    quiet[0] += 1
                    if cur_kept:
                        quiet[1] += 1
                        _add(quiet, 4, cur_kept)
                    if cur_total:
                        quiet[7] += 1
                        _add(quiet, 2, cur_total)
                        if cur_total > quiet[6]:
                            quiet[6] = cur_total
            cur_raw = raw
            cur_at = at
            cur_calls = calls
            cur_steps = 1
            cur_lines = lines
            cur_total = total
            cur_kept = kept
        elif cur_raw >= 0 and name not in WORLD_TASKS:
            cur_raw += raw
            cur_calls += calls
            cur_steps += 1
            cur_lines += lines
            cur_total += total
            cur_kept += kept
        steps += 1
        if board.clock.now >= report_at:
            print("at %d" % board.clock.now)
            report_at += 3600000
    gc.collect()
    report = {
        "virtual_ms": board.clock.now,
        "overhead_ns": overhead,
        "region_ns": region,
        "tick_steps": tick_steps,
        "booted": booted,
        "end": gc.mem_alloc(),
        "heap": gc.mem_alloc() + gc.mem_free(),
        "control_ticks": ticks,
        "tick_raw_us": tick_raw,
        "tick_calls": tick_calls,
        "tick_max_ns": tick_max,
        "tick_max_at_ms": tick_max_at,
        "quiet_ticks": quiet[0],
        "quiet_ticks_kept": quiet[1],
        "quiet_ticks_asking": quiet[7],
        "quiet_tick_bytes": quiet[2] + quiet[3] * CARRY,
        "quiet_tick_kept": quiet[4] + quiet[5] * CARRY,
        "quiet_tick_max_bytes": quiet[6],
        "event_ticks": loud[0],
        "event_tick_kept": loud[1] + loud[2] * CARRY,
        "idle": idle_stats if idle is not None else None,
        "tasks": [[n] + r[:4] for n, r in sorted(stats.items())],
        "task_max_at_ms": [[n, r[11]] for n, r in sorted(stats.items())],
        "quiet_steps": [[n, r[4], r[5], r[6] + r[7] * CARRY, r[8] + r[9] * CARRY, r[10]]
                        for n, r in sorted(stats.items())],
    }
    print("probe " + json.dumps(report))


IDLE_GC_US = 20  # an idle call longer than this (20,000 instructions) collected garbage
