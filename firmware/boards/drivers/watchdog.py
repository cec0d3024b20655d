"""Hardware watchdog fed only while every critical task is alive (SCH-1).

The scheduler calls ``feed()`` after every task run and stamps each task's
``last_run`` (its start ticks) once the run completes. Critical tasks are
registered with ``watch(task, max_silence_ms)``; ``feed()`` feeds the
hardware watchdog only if every watched task completed a run within its
limit. So a hung task (the loop never comes back) and a starved one (the
loop runs, that task never does) both end in a hardware reset.

The hardware watchdog is started on the first feed, not at construction:
``machine.WDT`` cannot be stopped, and boot work before the scheduler starts
(journal recovery) must not race it.
"""

from pump.compat import const, micropython
from pump.ticks import TICKS_MASK, ticks_diff

from boards import hal

_HALF = const(0x20000000)  # pump.ticks


class GatedWatchdog(hal.Watchdog):
    """``start`` returns the started ``machine.WDT``; ``ticks_ms`` is the board clock's."""

    def __init__(self, start, ticks_ms):
        self._start = start
        self._ticks_ms = ticks_ms
        self._wdt = None
        # Parallel lists: feed() walks them by index without allocating.
        self._tasks = []
        self._limits = []
        # ticks until which no watched task can be stale: min(last_run + limit) when last
        # walked (a task's last_run only moves forward), so most feeds walk nothing
        self._alive_until = 0
        self._walk = True  # the watch list changed: the next feed walks it

    def watch(self, task, max_silence_ms):
        """Make ``task`` (a ``pump.sched.Task``: ``name``, ``last_run``) critical."""
        if max_silence_ms <= 0:
            raise ValueError("max_silence_ms must be > 0 for task " + task.name)
        for i in range(len(self._tasks)):
            if self._tasks[i] is task:
                self._limits[i] = max_silence_ms
                self._walk = True
                return
        self._tasks.append(task)
        self._limits.append(max_silence_ms)
        self._walk = True

    def clear(self):
        """Watch no task any more: the next app on the board (bench mode) watches its own."""
        self._tasks = []
        self._limits = []
        self._walk = True

    def stale(self):
        """The first watched task silent past its limit, or None if all are alive."""
        now = self._ticks_ms()
        for i in range(len(self._tasks)):
            if ticks_diff(now, self._tasks[i].last_run) > self._limits[i]:
                return self._tasks[i]
        return None

    @micropython.native
    def feed(self, now=None):
        """Feed the hardware watchdog if every watched task is alive; ``now``: the clock's
        ticks when the caller has just read them (the scheduler does, after every task)."""
        if now is None:
            now = self._ticks_ms()
        # the scheduler feeds after every task run: walk the watched tasks (stale(), inlined)
        # only once past the first instant one of them could be silent too long
        if self._walk or ((now - self._alive_until + _HALF) & TICKS_MASK) - _HALF > 0:
            tasks = self._tasks
            limits = self._limits
            first = _HALF - 1  # ticks from now to the earliest limit, while all are alive
            for i in range(len(tasks)):
                left = limits[i] - (((now - tasks[i].last_run + _HALF) & TICKS_MASK) - _HALF)
                if left < 0:
                    return  # let the hardware watchdog bite
                if left < first:
                    first = left
            self._alive_until = (now + first) & TICKS_MASK
            self._walk = False
        wdt = self._wdt
        if wdt is None:
            wdt = self._wdt = self._start()
        wdt.feed()
