"""Time-triggered cooperative scheduler with an injected clock (SCH-1).

Each task has a period, a phase (offset of its first run) and a time budget.
The loop runs the earliest due task, then moves its due time by exactly one
period (``due += period``, never ``now + period``) so schedules do not drift.
A task that takes longer than its budget is an overrun; a task that starts
more than its deadline after it was due is a miss, and whole periods it fell
behind are skipped (counted, not run twice). Both are logged as events.
"""

from pump.compat import const
from pump.ticks import ticks_add, ticks_diff

_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)


class Task:
    def __init__(self, name, period_ms, fn, phase_ms=0, budget_ms=10, deadline_ms=None):
        if period_ms <= 0 or period_ms >= 0x20000000:
            raise ValueError("task %s: period_ms must be in 1..2**29-1" % name)
        self.name = name
        self.period = period_ms
        self.phase = phase_ms
        self.budget = budget_ms
        self.deadline = period_ms if deadline_ms is None else deadline_ms
        self.fn = fn  # fn(now_ticks)
        self.due = 0
        self.runs = 0
        self.overruns = 0
        self.misses = 0
        self.last_run = 0  # ticks of the last start: the watchdog checks liveness with it


class Scheduler:
    def __init__(self, clock, uptime, log, watchdog=None):
        self.clock = clock
        self.uptime = uptime
        self.log = log
        self.watchdog = watchdog
        self.tasks = []
        self.running = False
        self._last = 0

    def add(self, task):
        self.tasks.append(task)
        return task

    def start(self):
        now = self.clock.ticks_ms()
        self._last = now
        for task in self.tasks:
            task.due = ticks_add(now, task.phase)
            task.last_run = now

    def sync(self, now):
        """Bring uptime forward to ``now`` (ticks)."""
        self.uptime.advance(ticks_diff(now, self._last))
        self._last = now

    def next_task(self):
        """The task due first (ties go to the task added first)."""
        tasks = self.tasks
        best = tasks[0]
        best_due = best.due
        for task in tasks:
            # ticks_diff(task.due, best_due) < 0, inlined: this runs for every task every tick
            if ((task.due - best_due + _HALF) & _MASK) - _HALF < 0:
                best = task
                best_due = task.due
        return best

    def step(self):
        """Wait for the earliest due task and run it once."""
        task = self.next_task()
        clock = self.clock
        clock.wait_until(task.due)
        now = clock.ticks_ms()
        self.sync(now)
        late = ticks_diff(now, task.due)
        task.fn(now)
        task.runs += 1
        task.last_run = now
        end = clock.ticks_ms()
        took = ticks_diff(end, now)
        if took > 0:
            self.sync(end)  # stamp what follows with the time it is noticed
        if took > task.budget:
            task.overruns += 1
            self.log.emit("overrun", "task=%s took=%d budget=%d" % (task.name, took, task.budget))
        due = ticks_add(task.due, task.period)
        if late > task.deadline:
            skipped = 0
            after = ticks_add(now, took)
            while ticks_diff(after, due) >= 0:
                due = ticks_add(due, task.period)
                skipped += 1
            task.misses += 1
            self.log.emit("miss", "task=%s late=%d skipped=%d" % (task.name, late, skipped))
        task.due = due
        if self.watchdog is not None:
            self.watchdog.feed()
        return task

    def run(self):
        """Run (after ``start``) until ``running`` is cleared: by a task, or never on a board."""
        self.running = True
        step = self.step
        while self.running:
            step()
