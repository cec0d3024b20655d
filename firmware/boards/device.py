"""Run the firmware on a real board (rp2, esp32, pyboard): build, guard, run.

main.py calls ``run()`` when ``sys.platform`` names a real board. As on the
vboard (boards/emu/service.py): the journal lives in ``<storage_root>/data``
on littlefs2, the host talks over the USB serial link through
``pump.hostlink`` (events go out as EVENT frames), and Ctrl-C is ignored while
delivering until the host asks for maintenance, which stops the scheduler and
gives the REPL back for a flash. The basal profile set by the host
(``set_profile``) and a ``settings.json`` put in the data directory are read
back at every boot; until a profile is set the pump runs no basal (0 U/h): it
never delivers anything nobody programmed.
"""

import os

from pump.app import App
from pump.basal import BasalProfile
from pump.filestore import FileStore
from pump.hostlink import HostLink
from pump.journal import Journal
from pump.settings import Settings, load_config

SILENCE_PERIODS = 5  # a critical task may miss this many periods before the watchdog bites
MIN_SILENCE_MS = 1000


def watch_critical(app, watchdog):
    """Feed the hardware watchdog only while the control and supervisor tasks run (SCH-1)."""
    for task in (app.control_task, app.supervisor_task):
        watchdog.watch(task, max(task.period * SILENCE_PERIODS, MIN_SILENCE_MS))


def data_dir(board):
    """``<storage_root>/data``, created if missing."""
    path = board.storage_root.rstrip("/") + "/data"
    try:
        os.mkdir(path)
    except OSError:  # already there
        pass
    return path


def build(board):
    """The app on ``board`` with its journal, host link and watched tasks; not booted."""
    store = FileStore(data_dir(board))
    journal = Journal(store)
    settings, profile, problem = load_config(store, Settings(), BasalProfile.flat(0))
    app = App(board, settings, profile, 0, journal, settings_problem=problem)
    host = HostLink(app, board.link)
    board.event_sink = host.event
    app.hooks.append(host.tick)
    watch_critical(app, board.watchdog)
    return app


def run(board=None):
    if board is None:
        from boards import make_board

        board = make_board()
    app = build(board)
    import micropython

    micropython.kbd_intr(-1)  # a stray Ctrl-C on the link must not stop delivery
    try:
        app.boot(getattr(board, "boot_reason", "power_on"))
        if not getattr(board, "storage_safe", True):
            # FAT (the pyboard's factory format) is not power-loss safe: alarm, no delivery.
            app.raise_alarm("journal", board.clock.ticks_ms(), "storage=fat")
        app.sched.run()  # returns when the host asks for maintenance
    finally:
        micropython.kbd_intr(3)
    return app
