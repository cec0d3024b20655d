"""Run the firmware on a real board (rp2, esp32, pyboard): build, guard, run forever.

main.py calls ``run()`` when ``sys.platform`` names a real board. The journal
lives in the board's ``storage_root`` (littlefs2). Settings and the basal
profile are not stored yet, so the pump boots with the default settings and
no basal (0 U/h): it never delivers anything nobody programmed.
"""

from pump.app import App
from pump.basal import BasalProfile
from pump.journal import FileStore, Journal
from pump.settings import Settings

SILENCE_PERIODS = 5  # a critical task may miss this many periods before the watchdog bites
MIN_SILENCE_MS = 1000


def watch_critical(app, watchdog):
    """Feed the hardware watchdog only while the control and supervisor tasks run (SCH-1)."""
    for task in (app.control_task, app.supervisor_task):
        watchdog.watch(task, max(task.period * SILENCE_PERIODS, MIN_SILENCE_MS))


def build(board):
    """The app on ``board`` with its journal, critical tasks watched; not booted."""
    journal = Journal(FileStore(board.storage_root))
    app = App(board, Settings(), BasalProfile.flat(0), 0, journal)
    watch_critical(app, board.watchdog)
    return app


def run(board=None):
    if board is None:
        from boards import make_board

        board = make_board()
    app = build(board)
    app.boot(getattr(board, "boot_reason", "power_on"))
    if not getattr(board, "storage_safe", True):
        # FAT (the pyboard's factory format) is not power-loss safe: alarm, no delivery.
        app.raise_alarm("journal", board.clock.ticks_ms(), "storage=fat")
    app.sched.run()
