"""Board selection: ``make_board()`` builds the board this firmware is running on.

``sys.platform`` names the port: 'rp2' (Pico), 'esp32' (DevKit), 'pyboard'
(STM32 pyboard), 'qemu' (the Cortex-M3 under QEMU); anything else (the Unix
port, CPython) gets the emulated board. Each branch imports only its own
board module, so a port never loads another port's ``machine`` code.
"""

import sys

PLATFORM_BOARDS = {
    "rp2": "rp2_pico",
    "esp32": "esp32_devkit",
    "pyboard": "stm32_pyboard",
    "qemu": "qemu",
}
"""sys.platform -> board module under ``boards`` ('qemu': boards/emu/qemu.py, the emulated
hardware on MicroPython's qemu port); any other platform is the emulator."""


def board_name(platform=None):
    """The board module name for ``platform`` (default: this interpreter's)."""
    if platform is None:
        platform = sys.platform
    return PLATFORM_BOARDS.get(platform, "emu")


def make_board(**options):
    """Build the board for this platform; ``options`` go to its builder (boards/device.py
    for the real boards, boards/emu/qemu.py for the qemu board)."""
    name = board_name()
    if name == "qemu":
        from boards.emu import qemu

        return qemu.make_board(**options)
    if name == "emu":
        from boards.emu.board import EmuBoard

        return EmuBoard(**options)  # needs scenario=...: see boards/emu/runner.py
    from boards import device

    if name == "rp2_pico":
        from boards import rp2_pico as spec
    elif name == "esp32_devkit":
        from boards import esp32_devkit as spec
    else:
        from boards import stm32_pyboard as spec
    return device.make_board(spec, **options)
