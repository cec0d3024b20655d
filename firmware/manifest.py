# ruff: noqa: F821  (a MicroPython manifest: package/module/options come from the build tool)
"""Freeze the pump firmware into a MicroPython build: bytecode, strings and constants in flash.

Pass it to any port's build, e.g. (keep the port's own frozen modules in your manifest):

    # my_manifest.py
    include("$(PORT_DIR)/boards/manifest.py")
    include("/path/to/firmware/manifest.py")

    make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/my_manifest.py

Options (``include(..., emu=True)``): ``emu`` also freezes the emulated board (boards/emu),
as `make mcu` does for the qemu board. main.py is not frozen: the port runs it from the
file system at boot. See docs/boards.md.
"""

import os

options.defaults(emu=False)
HOST_ONLY = ("drivers/_native.py",)  # a CPython stand-in: MicroPython has the real module


def board_files(emu):
    """boards/ modules, relative to the package, in a stable order."""
    files = []
    for dirpath, dirnames, filenames in os.walk("boards"):
        dirnames.sort()
        for name in sorted(filenames):
            rel = os.path.join(dirpath, name)[len("boards") + 1 :].replace(os.sep, "/")
            wanted = emu or not rel.startswith("emu/")
            if name.endswith(".py") and rel not in HOST_ONLY and wanted:
                files.append(rel)
    return files


package("pump")
package("boards", files=board_files(options.emu))
