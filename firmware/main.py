"""Firmware entry point: pick the board, build the app, run the scheduler.

On the MicroPython Unix port and under CPython this is the emulated board,
driven by a scenario file given on the command line (see boards/emu/runner.py).
"""

import sys


def main():
    from boards.emu.runner import main as run_emulated

    run_emulated(sys.argv[1:])


main()
