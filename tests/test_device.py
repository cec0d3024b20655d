"""The real-board runner (boards/device.py) on a board of fake drivers, under CPython.

What is checked is the wiring the MCU would run: the app boots with a journal in the
board's storage root, events and status go out as protocol frames over the link, the
host can put it in maintenance, the hardware watchdog starts on the first feed and is
fed while the critical tasks run, and stops being fed when one of them stops (SCH-1).
"""

from boards import device, hal
from boards.drivers.board import HardwareBoard
from boards.drivers.watchdog import GatedWatchdog
from pump import protocol
from pump.ticks import TICKS_MASK, ticks_diff


class Clock(hal.Clock):
    def __init__(self):
        self.now = TICKS_MASK - 5000  # cross the 2**30 wrap during the run

    def ticks_ms(self):
        return self.now

    def wait_until(self, ticks):
        if ticks_diff(ticks, self.now) > 0:
            self.now = ticks


class Motor(hal.Motor):
    def __init__(self):
        self.steps = 0

    def pulse(self):
        self.steps += 8

    def retract(self, steps):
        self.steps -= steps

    def position(self):
        return self.steps


class Pressure(hal.PressureSensor):
    """A working sensor at rest: a low reading with a count or two of ADC noise."""

    def __init__(self):
        self.n = 0

    def read_raw(self):
        self.n += 1
        return 40 + (self.n * 7) % 3


class Button(hal.Button):
    def pressed(self):
        return False


class Connector(hal.Connector):
    fitted = True

    def closed(self):
        return True


class Buzzer(hal.Buzzer):
    def tone(self, freq_hz, ms):
        pass

    def off(self):
        pass


class Led(hal.Led):
    def set(self, on):
        pass


class Battery(hal.Battery):
    def millivolts(self):
        return 4000


class Link(hal.Link):
    def __init__(self):
        self.out = bytearray()
        self.inp = bytearray()

    def any(self):
        return len(self.inp)

    def readinto(self, buf):
        n = min(len(buf), len(self.inp))
        buf[:n] = self.inp[:n]
        del self.inp[:n]
        return n

    def write(self, data):
        self.out += data

    def frames(self):
        """What the host sees: the decoded frames written so far."""
        items = protocol.FrameReader(keep_text=False).feed(bytes(self.out))
        return [item for tag, item in items if tag == "frame"]

    def events(self):
        return "".join(f.body["line"] + "\n" for f in self.frames() if f.kind == protocol.EVENT)


class Wdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


def make(tmp_path, storage_safe=True, boot_reason="power_on"):
    clock, wdt = Clock(), Wdt()
    board = HardwareBoard(
        "fake",
        {},
        boot_reason,
        clock=clock,
        motor=Motor(),
        pressure=Pressure(),
        button=Button(),
        connector=Connector(),
        buzzer=Buzzer(),
        led=Led(),
        battery=Battery(),
        watchdog=GatedWatchdog(lambda: wdt, clock.ticks_ms),
        link=Link(),
        storage_root=str(tmp_path),
        storage_safe=storage_safe,
    )
    return board, clock, wdt


def test_device_boots_with_journal_and_feeds_watchdog_while_tasks_run(tmp_path):
    board, clock, wdt = make(tmp_path)
    app = device.build(board)
    app.boot(board.boot_reason)
    for _ in range(100):
        app.sched.step()
    assert wdt.feeds == 100
    assert (tmp_path / "data" / "state.jnl").is_file()  # the journal is on the board's storage
    log = board.link.events()
    assert " boot board=fake " in log and "alarm" not in log
    assert any(f.kind == protocol.STATUS for f in board.link.frames())


def test_host_can_put_the_device_in_maintenance(tmp_path):
    board, clock, _ = make(tmp_path)
    app = device.build(board)
    app.boot(board.boot_reason)
    app.sched.running = True
    board.link.inp += protocol.encode(protocol.COMMAND, 1, {"cmd": "maintenance"})
    for _ in range(5):
        app.sched.step()
    assert not app.sched.running  # the loop would return: the REPL is free for a flash
    assert "mode=maintenance" in board.link.events()


def test_watchdog_stops_feeding_when_a_critical_task_stops_running(tmp_path):
    board, clock, wdt = make(tmp_path)
    app = device.build(board)
    app.boot(board.boot_reason)
    for _ in range(20):
        app.sched.step()
    assert wdt.feeds == 20
    # The supervisor stops running (dropped from the table, as if starved); the control
    # task and the loop carry on, so only the gate can stop the feeding.
    app.sched.tasks.remove(app.supervisor_task)
    limit = max(app.supervisor_task.period * device.SILENCE_PERIODS, device.MIN_SILENCE_MS)
    fed_at = []
    for _ in range(100):  # 10 s of control ticks
        before = wdt.feeds
        app.sched.step()
        if wdt.feeds > before:
            fed_at.append(ticks_diff(clock.now, app.supervisor_task.last_run))
    assert fed_at and max(fed_at) <= limit  # fed only while within the limit
    assert len(fed_at) < 100
    assert board.watchdog.stale() is app.supervisor_task


def test_watchdog_reset_boot_raises_the_watchdog_alarm(tmp_path):
    board, _, _ = make(tmp_path, boot_reason="watchdog")
    app = device.build(board)
    app.boot(board.boot_reason)
    assert "kind=watchdog" in board.link.events()


def test_fat_storage_is_refused_with_the_journal_alarm(tmp_path):
    board, clock, _ = make(tmp_path, storage_safe=False)
    app = device.build(board)
    app.boot(board.boot_reason)
    app.raise_alarm("journal", clock.ticks_ms(), "storage=fat")  # what device.run does
    assert "kind=journal" in board.link.events()
    assert app.alarms.blocks_delivery()


def test_a_real_board_keeps_the_host_profile_across_a_reboot(tmp_path):
    from pump import commands

    board, clock, _ = make(tmp_path)
    app = device.build(board)
    app.boot(board.boot_reason)
    assert app.delivery.rate == 0  # nobody programmed a basal yet
    cmd = commands.parse("set_profile", {"basal_u_per_h": [[0, 0.8], [600, 1.2]]})
    assert commands.execute(app, clock.ticks_ms(), cmd, "host") is None
    assert (tmp_path / "data" / "profile.json").is_file()
    again = device.build(board)  # power cycle: RAM gone, the littlefs files stay
    again.boot("power_on")
    assert again.delivery.profile.to_list() == [[0, 800], [600, 1200]]
    assert again.delivery.rate in (800, 1200) and not again.alarms.records
