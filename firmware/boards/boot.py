"""One boot path: the app assembled the same way on every board.

The real boards (boards/device.py), the qemu board (boards/emu/qemu.py), the
vboard (boards/emu/service.py) and scenario runs (boards/emu/runner.py) all
call ``assemble`` then ``start``. What differs between them is the board
(its drivers, its storage, whether a host can be attached) and the defaults
that stand in for settings never written to flash; never the wiring.

- storage: ``board.storage()`` holds the journal, settings, basal profile
  and the device key (all read back at every boot, REL-1);
- key (SEC-1): with a key on flash every command that changes delivery must
  be signed for this boot's session nonce, on every board;
- link: the host protocol runs as a control hook when the board's link can
  have a host (``link.connected``); events then go out as EVENT frames;
- watchdog: the control and supervisor tasks are watched (SCH-1);
- garbage: collected in the scheduler's idle time on boards that ask for it
  (``board.collect_in_idle``, pump.idlegc), never inside the control tick.
"""

from pump.app import App
from pump.hostlink import AUTH_REQUIRED, HostLink
from pump.idlegc import IdleCollector, available, port_counter
from pump.journal import Journal
from pump.protocol import Auth
from pump.settings import load_config

KEY_FILE = "key"  # the device's SEC-1 key (raw bytes), written by `pumpctl flash --key`
NONCE_FILE = "nonce"  # boot counter for boards without a random source
SILENCE_PERIODS = 5  # a critical task may miss this many periods before the watchdog bites
MIN_SILENCE_MS = 1000


def assemble(board, settings, profile, time_of_day_ms=0, uptime_ms=0, watch=True):
    """The app on ``board``, not yet booted. ``settings`` and ``profile`` stand in for
    files never written to the board's storage. ``watch`` False: the watchdog watches no
    task (bench mode, whose clock is not the watchdog's)."""
    store = board.storage()
    settings, profile, problem = load_config(store, settings, profile)
    app = App(
        board, settings, profile, time_of_day_ms, Journal(store), uptime_ms,
        settings_problem=problem,
    )  # fmt: skip
    board.event_sink = None
    if board.link.connected:
        key = store.read(KEY_FILE)
        if key:
            auth = Auth(key, session_nonce(store, key))
            host = HostLink(app, board.link, auth=auth, auth_required=AUTH_REQUIRED)
        else:
            host = HostLink(app, board.link)
        board.event_sink = host.event
        app.hooks.append(host.tick)
        app.host = host  # pyright: ignore[reportAttributeAccessIssue]  (None until a link)
    if watch:
        watch_critical(app, board.watchdog)
    if board.collect_in_idle and available():
        app.sched.idle = IdleCollector(port_counter()).idle  # pyright: ignore[reportAttributeAccessIssue]
    return app


def start(app, reason=None):
    """Boot ``app`` (journal recovery, alarms); ``reason`` defaults to the board's."""
    board = app.board
    app.boot(board.boot_reason if reason is None else reason)
    if not board.storage_safe:
        # FAT (the pyboard's factory format) is not power-loss safe: alarm, no delivery.
        app.raise_alarm("journal", board.clock.ticks_ms(), "storage=fat")


def serve(app, reason=None, rebuild=None):
    """Boot ``app`` and run it until the host asks for maintenance (in service, on a
    board or the vboard): a stray Ctrl-C on the link must not stop delivery. A bench
    session the host asked for (boards/bench.py) runs in between; then ``rebuild()``
    boots the pump again (as after a reset: RAM state from the journal)."""
    try:
        import micropython

        micropython.kbd_intr(-1)
    except (ImportError, AttributeError):  # CPython
        micropython = None
    try:
        while True:
            start(app, reason)
            app.sched.run()  # returns when the host asks for maintenance or the bench
            request = app.host.bench_request if app.host is not None else None
            if request is None or rebuild is None:
                return app
            from boards import bench

            board = app.board
            app = None  # the pump's RAM is the bench's, then the rebuilt pump's (small heaps)
            bench.run(board, request)
            app = rebuild()
            reason = "bench_end"
    finally:
        if micropython is not None:
            micropython.kbd_intr(3)


def watch_critical(app, watchdog):
    """Feed the watchdog only while the control and supervisor tasks run (SCH-1)."""
    for task in (app.control_task, app.supervisor_task):
        watchdog.watch(task, max(task.period * SILENCE_PERIODS, MIN_SILENCE_MS))


def session_nonce(store, key):
    """8 bytes never used before with this key: from the board's random source, or on a
    board without one (the qemu board) a hash of the key and a boot counter on flash."""
    import os

    try:
        return os.urandom(8)
    except AttributeError:
        pass
    import hashlib

    count = ("%d" % (int(store.read(NONCE_FILE) or b"0") + 1)).encode()
    store.write_atomic(NONCE_FILE, NONCE_FILE + ".tmp", count)
    return hashlib.sha256(key + count).digest()[:8]
