"""The real-board runner (boards/device.py) on a board of fake drivers, under CPython.

What is checked is the wiring the MCU would run: the app boots with a journal in the
board's storage root, events and status go out as protocol frames over the link, the
host can put it in maintenance, the hardware watchdog starts on the first feed and is
fed while the critical tasks run, and stops being fed when one of them stops (SCH-1).
"""

import types

from boards import boot, device, hal
from boards.drivers.board import HardwareBoard
from boards.drivers.watchdog import GatedWatchdog
from pump import protocol
from pump.ticks import TICKS_MASK, ticks_diff
from standin_hw import WorkingPort


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
    limit = max(app.supervisor_task.period * boot.SILENCE_PERIODS, boot.MIN_SILENCE_MS)
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
    boot.start(app)
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


# -- the real builder (boards/device.make_board) on a working stand-in port ---------------

KEY = bytes(range(32))
PICO_FACTS = ("NAME", "PINS", "WDT_TIMEOUT_MS", "TIMER_ID", "BATTERY_DIVIDER")


def pico(tmp_path, key=None):
    """The Pico exactly as boards/device.py builds it from rp2_pico's pin map, on stand-in
    pins at rest (connector closed, sensor quiet, 4.0 V battery); its storage in
    ``tmp_path`` and its USB serial a byte pipe. (board, port, link)."""
    from boards import rp2_pico

    pins = rp2_pico.PINS
    samples = iter(range(10**9))
    port = WorkingPort(
        str(tmp_path),
        adc_u16={
            pins["pressure_adc"]: lambda: (40 + next(samples) * 7 % 3) << 4,
            pins["battery_adc"]: lambda: 4000 * 65535 // (3300 * 3),
        },
        levels={pins["connector"]: 0},
    )
    link = Link()
    spec = types.SimpleNamespace(
        STORAGE_ROOT=str(tmp_path), make_link=lambda: link,
        **{name: getattr(rp2_pico, name) for name in PICO_FACTS},
    )  # fmt: skip
    if key is not None:
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / "key").write_bytes(key)
    with port.installed():
        board = device.make_board(spec)
    return board, port, link


def host_command(app, link, seq, cmd, args, auth=None, counter=0):
    """Send one command frame, run the board a little; its RESPONSE or ERROR frames."""
    sent = len(link.frames())
    link.inp += protocol.encode(protocol.COMMAND, seq, {"cmd": cmd, "args": args}, auth, counter)
    for _ in range(3):  # the next control tick reads it (a supervisor run may come first)
        app.sched.step()
    return [f for f in link.frames()[sent:] if f.kind in (protocol.RESPONSE, protocol.ERROR)]


def test_real_builder_board_boots_through_the_one_boot_path(tmp_path):
    board, port, link = pico(tmp_path)
    app = device.build(board)
    boot.start(app)
    for _ in range(50):
        app.sched.step()
    assert board.name == "rp2_pico" and board.storage_safe
    assert port.wdt_feeds == 50  # the real WDT, started and fed through the gate
    assert "alarm" not in link.events() and " boot board=rp2_pico " in link.events()
    assert (tmp_path / "data" / "state.jnl").is_file()


def test_sec1_a_keyed_real_board_refuses_an_unsigned_delivery_command(tmp_path):
    board, _, link = pico(tmp_path, key=KEY)
    app = device.build(board)
    boot.start(app)
    app.sched.step()
    status = [f for f in link.frames() if f.kind == protocol.STATUS][-1].body
    assert status["nonce"]  # the device key was loaded at boot: this session has a nonce
    args = {"rate_u_per_h": 3, "duration_min": 30}
    [refused] = host_command(app, link, 1, "temp_basal", args)
    assert refused.kind == protocol.ERROR and refused.body["error"] == protocol.E_UNAUTH
    assert app.delivery.rate_src != "temp"
    # the same command signed with the key for this boot's nonce is obeyed: the refusal
    # above came from the key, not from a board that refuses everything
    auth = protocol.Auth(KEY, bytes.fromhex(status["nonce"]))
    [accepted] = host_command(app, link, 2, "temp_basal", args, auth, 1)
    assert accepted.kind == protocol.RESPONSE and accepted.body["ok"]
    assert app.delivery.rate == 3000


def test_an_unkeyed_real_board_takes_unsigned_commands(tmp_path):
    board, _, link = pico(tmp_path)
    app = device.build(board)
    boot.start(app)
    app.sched.step()
    args = {"rate_u_per_h": 3, "duration_min": 30}
    [accepted] = host_command(app, link, 1, "temp_basal", args)
    assert accepted.body["ok"] and app.delivery.rate == 3000


def test_occlusion_back_off_moves_the_real_motor_by_its_own_steps_per_pulse(tmp_path):
    board, port, _ = pico(tmp_path)
    app = device.build(board)
    boot.start(app)
    app.sched.step()
    spp = board.motor.steps_per_pulse
    assert spp == 8  # the stepper driver's own figure (docs/boards.md)
    watch = app.line.watch
    feat = watch.feat
    feat.level = feat.baseline() + 3 * watch.dis.jref  # held pressure: 3 pulses' worth
    step_pin = rp2_pins()["motor_step"]
    before = port.rises.get(step_pin, 0)
    app.line._relieve(board.clock.ticks_ms())
    assert port.rises[step_pin] - before == 3 * spp  # step pulses really sent
    assert board.motor.position() == -3 * spp
    assert app.line.relief_steps == 3 * spp


def rp2_pins():
    from boards import rp2_pico

    return rp2_pico.PINS
