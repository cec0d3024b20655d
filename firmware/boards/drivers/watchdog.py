"""Hardware watchdog fed only while every critical task is alive (SCH-1).

Critical tasks are registered with ``watch(name, max_silence_ms)`` and report
with ``alive(name)`` each time they complete. ``feed()`` (called by the
scheduler) feeds the hardware watchdog only if every watched task reported
within its limit, so a hung or starved task resets the board even though the
scheduler loop itself still runs. The hardware watchdog is started on the
first feed, not at construction: ``machine.WDT`` cannot be stopped, and boot
work before the scheduler starts (journal recovery) must not race it.
"""

from pump.ticks import ticks_diff

from boards import hal


class GatedWatchdog(hal.Watchdog):
    """``start`` returns the started ``machine.WDT``; ``ticks_ms`` is the board clock's."""

    def __init__(self, start, ticks_ms):
        self._start = start
        self._ticks_ms = ticks_ms
        self._wdt = None
        # Parallel lists, not a dict: feed() walks them by index without allocating.
        self._names = []
        self._limits = []
        self._last = []

    def watch(self, name, max_silence_ms):
        """Make ``name`` critical: no feed once it has been silent for ``max_silence_ms``."""
        if max_silence_ms <= 0:
            raise ValueError("max_silence_ms must be > 0 for task " + name)
        now = self._ticks_ms()
        for i in range(len(self._names)):
            if self._names[i] == name:
                self._limits[i] = max_silence_ms
                self._last[i] = now
                return
        self._names.append(name)
        self._limits.append(max_silence_ms)
        self._last.append(now)

    def alive(self, name):
        """Record that critical task ``name`` just completed a run."""
        for i in range(len(self._names)):
            if self._names[i] == name:
                self._last[i] = self._ticks_ms()
                return

    def stale(self):
        """The first watched task past its limit, or None if all are alive."""
        now = self._ticks_ms()
        for i in range(len(self._names)):
            if ticks_diff(now, self._last[i]) > self._limits[i]:
                return self._names[i]
        return None

    def feed(self):
        if self.stale() is not None:
            return
        if self._wdt is None:
            self._wdt = self._start()
        self._wdt.feed()
