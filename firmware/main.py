"""Firmware entry point: pick the board, build the app, run the scheduler.

On rp2, esp32 and the pyboard this is the real board (boards/device.py); on
MicroPython's qemu port the qemu board (boards/emu/qemu.py).
On the MicroPython Unix port and under CPython this is the emulated board,
driven by a scenario file given on the command line (see boards/emu/runner.py).
"""

import sys


def main():
    from boards import board_name

    if board_name() == "qemu":
        from boards.emu.qemu import serve as run_qemu

        run_qemu()
        return
    if board_name() != "emu":  # rp2, esp32, pyboard: see boards/device.py
        from boards.device import run

        run()
        return
    try:
        import vboard  # set by boards/emu/vboot.py: the board behind `pumpctl vboard`
    except ImportError:
        vboard = None
    if vboard is not None:
        from boards.emu.service import serve

        serve(vboard)
        return
    if len(sys.argv) > 1 and sys.argv[1] in ("--record", "--replay"):
        from boards.emu.replay import main as run_trace

        run_trace(sys.argv[1:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--cosim":  # a host steps it (boards/emu/cosim.py)
        from boards.emu.cosim import main as serve_cosim

        serve_cosim()
        return
    from boards.emu.runner import main as run_emulated

    run_emulated(sys.argv[1:])


main()
