"""Hardware drivers shared by the real boards.

Each driver takes its pins, bus or peripheral in its constructor and never
imports ``machine``: the board modules (``rp2_pico``, ``esp32_devkit``,
``stm32_pyboard``) create the peripherals and hand them in, so a driver runs
under CPython with any object that has the same methods.
"""
