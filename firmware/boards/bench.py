"""Bench-test mode: a pressure trace streamed over the link stands in for the sensor.

``pumpctl replay TRACE --port PORT`` asks for it with the signed ``bench`` command;
a board without a device key refuses (SEC-1). The pump first stops delivery as for
maintenance (the journal keeps it stopped), then runs a second app, the same
firmware set up as the host says (settings, basal profile, time of day), on a bench
board over the real one:

- the pressure sensor and the connector switch read the samples the host streams
  (``samples`` commands: 100 ms grid values, counts with the open-connector bit);
- its clock moves 100 ms per sample: the board runs the trace at its own speed,
  however fast the samples come, and the result does not depend on it;
- the motor is counted, never moved; the button is not read;
- its journal and files live in RAM: nothing reaches the pump's flash.

It logs ``bench state=on motor=counted`` and its status frames carry ``bench: 1``;
buzzer and LED are the board's, so its alarms sound. The last ``samples`` carries
``end_ms`` (or the host sends ``bench_end``): the bench app logs its totals (``end``)
and the pump boots again, delivery stopped until the user resumes. A host that goes
quiet for ``IDLE_MS`` ends it too.
"""

from array import array

from pump.compat import const
from pump.filestore import MemoryStore
from pump.ticks import TICKS_MASK, ticks_add, ticks_diff

from boards import boot, hal

GRID_MS = const(100)  # one sample per control tick (boards/emu/tracefile.GRID_MS)
OPEN_BIT = const(0x8000)  # in a sample: the connector switch reads open
CAPACITY = const(512)  # samples held ahead of the bench clock (51 s)
MAX_PUSH = const(100)  # samples per command
IDLE_MS = const(30000)  # no sample for this long (board time): the host is gone
POLL_MS = const(5)


class EndOfBench(Exception):
    """The trace (or the host) ended the bench session."""


class SampleFeed:
    """Samples from the host, indexed by grid slot (slot k holds from k * 100 ms)."""

    def __init__(self):
        self.ring = array("H", bytes(2 * CAPACITY))
        self.received = 0  # slots received so far
        self.end_ms = None  # bench time where the session ends (None: not known yet)
        self.slot = 0  # the slot the bench clock is in
        self.current = 0  # its sample

    def push(self, values, end_ms=None):
        """(ok, reason) for a ``samples`` command; "full" until the clock catches up."""
        if not isinstance(values, list) or len(values) > MAX_PUSH:
            return False, "args.s: expected a list of at most %d samples" % MAX_PUSH
        if self.received + len(values) - self.slot > CAPACITY:
            return False, "full"
        for v in values:
            if type(v) is not int or not 0 <= v <= 0xFFFF:
                return False, "args.s: expected integers 0..65535"
        for v in values:
            self.ring[self.received % CAPACITY] = v
            self.received += 1
        if end_ms is not None:
            if type(end_ms) is not int or end_ms < 0:
                return False, "args.end_ms: expected a non-negative integer"
            self.end_ms = end_ms
        return True, ""


class BenchClock(hal.Clock):
    """Bench time: it may reach a slot only once the host has sent its sample."""

    def __init__(self, feed, board, poll):
        self.feed = feed
        self.board = board  # the real board: its clock paces waiting, its watchdog is fed
        self.poll = poll  # reads the link (host.poll), set once the app exists
        self.now = 0
        self.start = board.clock.ticks_ms()

    def ticks_ms(self):
        return (self.start + self.now) & TICKS_MASK

    def wait_until(self, ticks):
        d = ticks_diff(ticks, self.ticks_ms())
        target = self.now + (d if d > 0 else 0)  # now too: the sample of this slot must be in
        feed = self.feed
        real = self.board.clock
        idle = 0
        # until the host has said where the trace ends, wait for the sample of that slot
        while feed.end_ms is None and target >= feed.received * GRID_MS:
            if idle >= IDLE_MS:
                feed.end_ms = self.now  # the host is gone: end here
                break
            if self.poll is not None:
                self.poll()
            if feed.end_ms is None and target >= feed.received * GRID_MS:
                self.board.watchdog.feed()  # waiting for the host is not a hung task
                real.wait_until(ticks_add(real.ticks_ms(), POLL_MS))
                idle += POLL_MS
        if feed.end_ms is not None and target > feed.end_ms:
            self.now = feed.end_ms
            raise EndOfBench()
        self.now = target
        slot = target // GRID_MS
        if slot >= feed.received:
            slot = feed.received - 1  # past the last sample: hold it, as a replay does
        feed.slot = slot
        feed.current = feed.ring[slot % CAPACITY]


class BenchPressure(hal.PressureSensor):
    def __init__(self, feed):
        self.feed = feed

    def read_raw(self):
        return self.feed.current & 0x0FFF


class BenchConnector(hal.Connector):
    def __init__(self, feed, fitted):
        self.feed = feed
        self.fitted = fitted

    def closed(self):
        return not self.feed.current & OPEN_BIT


class CountingMotor(hal.Motor):
    """Counts what the pump asks of its motor; the real motor stays where it is."""

    def __init__(self, steps_per_pulse):
        self.steps_per_pulse = steps_per_pulse
        self.pulses = 0
        self.steps = 0

    def pulse(self):
        self.pulses += 1
        self.steps += self.steps_per_pulse

    def retract(self, steps):
        self.steps -= steps

    def position(self):
        return self.steps


class IdleButton(hal.Button):
    def pressed(self):
        return False


class BenchBoard(hal.Board):
    """The real board's link, buzzer, LED, battery and watchdog; the rest from the feed."""

    boot_reason = "bench"

    def __init__(self, board, feed, fitted, key):
        self.name = board.name
        self.clock = BenchClock(feed, board, None)
        self.motor = CountingMotor(board.motor.steps_per_pulse)
        self.pressure = BenchPressure(feed)
        self.button = IdleButton()
        self.connector = BenchConnector(feed, fitted)
        self.buzzer = board.buzzer
        self.led = board.led
        self.battery = board.battery
        self.watchdog = board.watchdog
        self.link = board.link
        self.store = MemoryStore()
        if key:
            self.store.write_atomic(boot.KEY_FILE, "key.tmp", key)  # commands stay signed
        self.event_sink = None

    def storage(self):
        return self.store

    def emit(self, line):
        if self.event_sink is not None:
            self.event_sink(line)


def run(board, request):
    """One bench session on ``board`` (``request`` from the host link); returns its app."""
    settings, profile, tod, fitted = request
    feed = SampleFeed()
    bench = BenchBoard(board, feed, fitted, board.storage().read(boot.KEY_FILE))
    board.watchdog.clear()  # the pump's tasks are stopped; the bench clock feeds it
    app = boot.assemble(bench, settings, profile, tod, watch=False)
    host = app.host
    host.feed = feed
    bench.clock.poll = host.poll
    boot.start(app)
    app.log.emit("bench", "state=on motor=counted")
    try:
        app.sched.run()
    except EndOfBench:
        pass
    now = bench.clock.ticks_ms()
    app.sched.sync(now)
    app.finish(now)
    app.log.emit("bench", "state=off pulses=%d" % bench.motor.pulses)
    board.watchdog.clear()
    return app
