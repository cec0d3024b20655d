"""Time-triggered cooperative scheduler with an injected clock (SCH-1).

Each task has a period, a phase (offset of its first run) and a time budget.
The loop runs the earliest due task, then moves its due time by exactly one
period (``due += period``, never ``now + period``) so schedules do not drift.
A task that takes longer than its budget is an overrun; a task that starts
more than its deadline after it was due is a miss, and whole periods it fell
behind are skipped (counted, not run twice). Both are logged as events.
"""

from pump.compat import const, micropython
from pump.ticks import ticks_add, ticks_diff

_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)
_DAY_MS = const(86400000)  # pump.uptime.DAY_MS


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
        self.idle = None  # callable() after each step, before the wait (pump.idlegc)

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

    @micropython.native
    def step(self):
        """Wait for the earliest due task and run it once.

        This runs about 12 times a second for the life of the pump, so the task choice,
        ``ticks_diff``/``ticks_add`` and the uptime update are inlined (each call costs
        more than the arithmetic it does); the rare paths keep their helpers."""
        tasks = self.tasks
        task = tasks[0]
        due = task.due
        for other in tasks:  # next_task(), inlined
            if ((other.due - due + _HALF) & _MASK) - _HALF < 0:
                task = other
                due = other.due
        clock = self.clock
        clock.wait_until(due)
        now = clock.ticks_ms()
        # sync(now), inlined: uptime.advance for the common case of no day boundary
        uptime = self.uptime
        dt = ((now - self._last + _HALF) & _MASK) - _HALF
        ms = uptime.ms + dt
        if ms < _DAY_MS:
            uptime.ms = ms
        else:
            uptime.advance(dt)
        self._last = now
        late = ((now - due + _HALF) & _MASK) - _HALF
        task.fn(now)
        task.runs += 1
        task.last_run = now
        end = clock.ticks_ms()
        took = ((end - now + _HALF) & _MASK) - _HALF
        if took > 0:
            self.sync(end)  # stamp what follows with the time it is noticed
        if took > task.budget:
            task.overruns += 1
            self.log.emit("overrun", "task=%s took=%d budget=%d" % (task.name, took, task.budget))
        due = (task.due + task.period) & _MASK
        if late > task.deadline:
            skipped = 0
            after = ticks_add(now, took)
            while ticks_diff(after, due) >= 0:
                due = ticks_add(due, task.period)
                skipped += 1
            task.misses += 1
            self.log.emit("miss", "task=%s late=%d skipped=%d" % (task.name, late, skipped))
        task.due = due
        watchdog = self.watchdog
        if watchdog is not None:
            watchdog.feed(end)  # read after the task (an event since takes no time to speak of)
        return task

    def run(self):
        """Run (after ``start``) until ``running`` is cleared: by a task, or never on a board."""
        self.running = True
        step = self.step
        idle = self.idle
        while self.running:
            step()
            if idle is not None:  # the loop's idle time: garbage is collected here, not in a task
                idle()
