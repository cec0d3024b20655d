"""Virtual time for the emulated board.

``now`` counts virtual ms since boot (unbounded: the emulator runs on 64-bit
hosts); ``ticks_ms`` wraps at 2**30 like a real board and can start anywhere,
so a run can cross the wrap on purpose. In virtual mode ``wait_until`` jumps
straight to the next due task; with ``speed`` > 0 it follows wall time
multiplied by ``speed``.
"""

import time

from pump.compat import const, micropython
from pump.ticks import TICKS_MASK

from boards import hal

_HALF = const(0x20000000)


class EndOfRun(Exception):
    """The scenario's duration has been reached."""


class WatchdogReset(Exception):
    """The emulated watchdog was not fed in time: the board resets."""


def _wall_ms():
    try:
        return time.ticks_ms()  # MicroPython (Unix port ticks wrap at 2**62)
    except AttributeError:
        return int(time.monotonic() * 1000)


def _sleep_ms(ms):
    try:
        time.sleep_ms(ms)
    except AttributeError:
        time.sleep(ms / 1000)


class VirtualClock(hal.Clock):
    def __init__(self, start_ticks=0, end_ms=None, speed=0):
        self.now = 0
        self.start = start_ticks & TICKS_MASK
        self.end = end_ms
        self.speed = speed
        # the virtual instant the emulated watchdog bites if not fed again (fed + timeout),
        # kept here by its counter (boards/emu/board.py); None: no watchdog
        self.bite = None
        self._wall0 = _wall_ms()

    @micropython.native
    def ticks_ms(self):
        return (self.start + self.now) & TICKS_MASK

    @micropython.native
    def wait_until(self, ticks):
        now = self.now
        # ticks_diff(ticks, self.ticks_ms()), inlined: the scheduler calls this every step
        d = ((ticks - self.start - now + _HALF) & TICKS_MASK) - _HALF
        if d <= 0:
            return
        target = now + d
        bite = self.bite
        if bite is not None and target > bite:
            self._check_watchdog(target)
        end = self.end
        if end is not None and target > end:
            self.now = end
            raise EndOfRun()
        if self.speed > 0:
            lag = int(target / self.speed) - (_wall_ms() - self._wall0)
            if lag > 0:
                _sleep_ms(lag)
        self.now = target

    def advance(self, ms):
        """Let virtual time pass inside a task (a stalled or hung task)."""
        self._check_watchdog(self.now + ms)
        self.now += ms

    def _check_watchdog(self, target):
        bite = self.bite
        if bite is not None and target > bite:
            if self.end is None or bite <= self.end:
                self.now = bite
                raise WatchdogReset()
