"""pump.idlegc: garbage is collected between scheduler steps, once a share of the free heap
has been allocated, and the scheduler runs the idle work after every step; boards that ask
for it (real boards, the qemu board) get a collector at boot, the Unix-port emulator none."""

import io

import pytest
from boards import boot
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun, VirtualClock
from boards.emu.scenario import Scenario
from emu import scenario
from pump import idlegc
from pump.basal import BasalProfile
from pump.events import EventLog
from pump.idlegc import IdleCollector
from pump.sched import Scheduler, Task
from pump.settings import Settings
from pump.uptime import Uptime


class Heap:
    """A heap that counts what it hands out, like micropython.mem_current and gc."""

    def __init__(self, size):
        self.size = size
        self.live = 0
        self.garbage = 0
        self.count = 0  # bytes allocated so far
        self.collections = 0

    def alloc(self, n, live=False):
        self.count += n
        if live:
            self.live += n
        else:
            self.garbage += n

    def mem_free(self):
        return self.size - self.live - self.garbage

    def collect(self):
        self.garbage = 0
        self.collections += 1

    def allocated(self):
        return self.count


@pytest.mark.parametrize("counted", [True, False])
def test_collects_once_a_quarter_of_the_free_heap_is_allocated(counted):
    heap = Heap(64_000)
    heap.alloc(24_000, live=True)
    collector = IdleCollector(heap.allocated if counted else None, heap.mem_free, heap.collect)
    assert heap.collections == 1  # a clean start
    steps = 0
    while heap.collections == 1:
        heap.alloc(100)
        collector.idle()
        steps += 1
        assert steps < 1000
    # 40,000 free after the first collection: a quarter is 10,000 bytes (100 steps); without
    # a count the free heap is read every CHECK_EVERY steps, so the collection comes later
    if counted:
        assert steps == 100
    else:
        assert steps == 2 * idlegc.CHECK_EVERY
    assert heap.garbage == 0 and collector.collections == 2


def test_no_allocation_no_collection():
    heap = Heap(64_000)
    collector = IdleCollector(heap.allocated, heap.mem_free, heap.collect)
    for _ in range(10_000):
        collector.idle()
    assert heap.collections == 1


def test_the_counter_may_wrap():
    heap = Heap(64_000)
    heap.count = (1 << 30) - 50  # micropython.mem_current is a small int: it wraps at 2**30
    wrapped = lambda: heap.count & 0x3FFFFFFF  # noqa: E731
    collector = IdleCollector(wrapped, heap.mem_free, heap.collect)
    heap.alloc(15_000)
    collector.idle()
    assert heap.collections == 1
    heap.alloc(1_000)
    collector.idle()
    assert heap.collections == 2


def test_the_scheduler_runs_the_idle_work_after_every_step():
    clock = VirtualClock(0, 1000)
    uptime = Uptime()
    sched = Scheduler(clock, uptime, EventLog(io.StringIO().write, uptime))
    order = []
    sched.add(Task("a", 100, lambda now: order.append("a")))
    sched.idle = lambda: order.append("idle")
    sched.start()
    with pytest.raises(EndOfRun):
        sched.run()
    assert order == ["a", "idle"] * 11


def test_boards_that_ask_get_a_collector_at_boot(monkeypatch):
    raw = scenario(duration="0:01")
    board = EmuBoard(Scenario(raw), io.StringIO(), 0)
    assert board.collect_in_idle is False  # the Unix port and CPython: a large heap
    app = boot.assemble(board, Settings(), BasalProfile.flat(0))
    assert app.sched.idle is None
    monkeypatch.setattr(idlegc.gc, "mem_free", lambda: 50_000, raising=False)
    board.collect_in_idle = True  # as on the qemu port (sys.platform 'qemu') and real boards
    app = boot.assemble(board, Settings(), BasalProfile.flat(0))
    assert app.sched.idle is not None
    app.sched.idle()
