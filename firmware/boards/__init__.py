"""Board selection: ``make_board()`` builds the board this firmware is running on.

``sys.platform`` names the port: 'rp2' (Pico), 'esp32' (DevKit), 'pyboard'
(STM32 pyboard); anything else (the Unix port, CPython) gets the emulated
board. Each branch imports only its own board module, so a port never loads
another port's ``machine`` code.
"""

import sys

PLATFORM_BOARDS = {
    "rp2": "rp2_pico",
    "esp32": "esp32_devkit",
    "pyboard": "stm32_pyboard",
}
"""sys.platform -> board module under ``boards``; any other platform is the emulator."""


def board_name(platform=None):
    """The board module name for ``platform`` (default: this interpreter's)."""
    if platform is None:
        platform = sys.platform
    return PLATFORM_BOARDS.get(platform, "emu")


def make_board(**options):
    """Build the board for this platform; ``options`` go to that board's factory."""
    name = board_name()
    if name == "rp2_pico":
        from boards import rp2_pico

        return rp2_pico.make_board(**options)
    if name == "esp32_devkit":
        from boards import esp32_devkit

        return esp32_devkit.make_board(**options)
    if name == "stm32_pyboard":
        from boards import stm32_pyboard

        return stm32_pyboard.make_board(**options)
    from boards.emu.board import EmuBoard

    return EmuBoard(**options)  # needs scenario=...: see boards/emu/runner.py
