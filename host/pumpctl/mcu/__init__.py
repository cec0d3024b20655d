"""The firmware on an emulated Cortex-M3: MicroPython's qemu port (board MPS2_AN385).

- ``toolchain``: the Debian packages it needs and a clear error when they are missing;
- ``source``: the pinned MicroPython source (MICROPY_SRC, the vendored snapshot, or a fetch);
- ``build``: mpy-cross, the qemu port per heap size and the ROMFS firmware image, cached;
- ``qemu``: boot the image under qemu-system-arm and run code over its UART (raw REPL);
- ``run``: a scenario on the board, its event log byte for byte as on the Unix port.
"""
