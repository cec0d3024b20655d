"""pump.sched (SCH-1): periods, phases, no drift, overruns and missed deadlines, the 2**30 wrap."""

import io

import pytest
from boards.emu.clock import EndOfRun, VirtualClock
from pump.events import EventLog
from pump.sched import Scheduler, Task
from pump.ticks import TICKS_MASK
from pump.uptime import Uptime


def make(start_ticks=0, end_ms=10_000):
    clock = VirtualClock(start_ticks, end_ms)
    out = io.StringIO()
    uptime = Uptime()
    sched = Scheduler(clock, uptime, EventLog(out.write, uptime))
    return clock, sched, out


def run_to_end(sched):
    sched.start()
    with pytest.raises(EndOfRun):
        sched.run()


@pytest.mark.parametrize("start", [0, TICKS_MASK - 2_500, TICKS_MASK])
def test_tasks_run_at_period_and_phase_without_drift(start):
    clock, sched, _ = make(start)
    seen = {"a": [], "b": []}
    sched.add(Task("a", 100, lambda now: seen["a"].append(clock.now)))
    sched.add(Task("b", 1000, lambda now: seen["b"].append(clock.now), phase_ms=250))
    run_to_end(sched)
    assert seen["a"] == list(range(0, 10_001, 100))
    assert seen["b"] == list(range(250, 10_001, 1000))
    assert sched.uptime.now_ms() == 10_000


def test_overrun_is_logged_with_task_and_duration():
    clock, sched, out = make()
    sched.add(
        Task(
            "slow", 1000, lambda now: clock.advance(30) if clock.now == 3000 else None, budget_ms=20
        )
    )
    run_to_end(sched)
    lines = [line for line in out.getvalue().splitlines() if "overrun" in line]
    assert lines == ["3030 overrun task=slow took=30 budget=20"]


def test_missed_deadline_skips_whole_periods_and_is_logged():
    clock, sched, out = make()
    runs = []
    sched.add(Task("fast", 100, lambda now: runs.append(clock.now)))
    sched.add(
        Task("hog", 1000, lambda now: clock.advance(450) if clock.now == 2000 else None, phase_ms=0)
    )
    run_to_end(sched)
    log = out.getvalue()
    assert "overrun task=hog took=450" in log
    assert "miss task=fast late=350 skipped=3" in log  # due 2100, ran at 2450; 2200..2400 skipped
    # after the miss the fast task is back on its original grid, never run twice for one slot
    after = [t for t in runs if t > 2450]
    assert after[0] == 2500 and all(b - a == 100 for a, b in zip(after, after[1:], strict=False))
    assert len(runs) == len(set(runs))


def test_period_must_fit_the_wrap():
    with pytest.raises(ValueError):
        Task("x", 1 << 29, lambda now: None)
