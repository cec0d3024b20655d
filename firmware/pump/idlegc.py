"""Garbage collection in the idle part of the scheduler loop, never inside a task.

MicroPython collects when an allocation finds no room, inside whatever code allocates: in a
control tick that is a pass over the whole heap (up to a million instructions on a Cortex-M3
with 140 KB, 20 ms at 48 MHz) charged to that tick. Instead the scheduler calls ``idle()``
after each step, before it waits for the next task, and that collects once a quarter of what
the last collection left free has been allocated. The control path allocates nothing in a
quiet tick, so the heap fills only with what events, commands and pulses leave behind, far
less than that quarter between two steps; a burst that does not fit still gets the
allocator's own collection (correct, only late).

How much has been allocated since: ``micropython.mem_current`` where the port keeps that
count (bytes asked for and not freed; the qemu port), read every step at the cost of a call.
Elsewhere the free heap (``gc.mem_free``, a walk over the allocation table: about 160,000
instructions at 64 KB) every CHECK_EVERY steps. Boards whose heap is large (the Unix port,
CPython) leave it off (``Board.collect_in_idle``).
"""

import gc

CHECK_EVERY = 64  # steps between two walks of the allocation table (about 5 s), without a count
SHARE = 4  # collect when 1/SHARE of the free heap has been allocated
_MASK = 0x3FFFFFFF  # the count is a small int: it wraps


def port_counter():
    """``micropython.mem_current`` when this port keeps the count, else None."""
    try:
        import micropython

        return getattr(micropython, "mem_current", None)
    except ImportError:  # CPython
        return None


def available():
    """True where the heap can be read (MicroPython's ``gc.mem_free``); CPython, which runs the
    real-board path in the tests, has no such heap to manage."""
    return hasattr(gc, "mem_free")


class IdleCollector:
    """``idle()`` after each scheduler step. ``allocated()``: bytes allocated so far (None
    when the port does not count them: ``port_counter()``); ``mem_free`` and ``collect``
    as gc's."""

    def __init__(self, allocated, mem_free=None, collect=None):
        self.mem_free = getattr(gc, "mem_free") if mem_free is None else mem_free  # noqa: B009
        self.collect = gc.collect if collect is None else collect
        self.allocated = allocated
        self.steps = 0
        self.collections = 0
        self.budget = 0  # bytes that may be allocated before the next collection
        self.base = 0  # the count at the last collection
        self.low = 0  # without a count: collect when the free heap falls below this
        self.collect_now()

    def collect_now(self):
        self.collect()
        self.collections += 1
        free = self.mem_free()
        self.budget = free // SHARE
        self.low = free - self.budget
        if self.allocated is not None:
            self.base = self.allocated()

    def idle(self):
        allocated = self.allocated
        if allocated is not None:
            if (allocated() - self.base) & _MASK >= self.budget:
                self.collect_now()
            return
        steps = self.steps + 1
        if steps < CHECK_EVERY:
            self.steps = steps
            return
        self.steps = 0
        if self.mem_free() < self.low:
            self.collect_now()
