"""The qemu board: the emulated hardware on MicroPython's qemu port (sys.platform 'qemu').

A 32-bit Cortex-M3 (MPS2-AN385 under QEMU) runs the firmware in real time as
a board would: the simulated line, motor, sensor and battery of boards/emu,
the UART (stdin/stdout, ``qemu -serial pty``) as the host link, and its
durable files on littlefs2 over a block device in RAM (the MPS2 has no flash
for files; they survive soft resets, not a restart of QEMU). It boots through
the same path as every board (boards/boot.py). Start it from the REPL with
``from boards.emu.qemu import serve; serve()`` (what ``pumpctl vboard --mcu``
sends); it runs until the host asks for maintenance.
"""

import sys

from pump.filestore import FileStore

from boards.drivers.link import stdio_link
from boards.emu.board import EmuBoard, FlashStore
from boards.emu.plant import FAULTS
from boards.emu.scenario import Scenario

NAME = "qemu"
MOUNT = "/flash"
BLOCK_SIZE = 512
BLOCKS = 48  # 24 KB: the journal, its history ring, settings, profile and key fit many times
DEFAULT_WORLD = {
    "format": "pumpscenario/1",
    "name": "qemu",
    "basal_u_per_h": [[0, 1.0]],
}

_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_SIZE = 5
_IOCTL_BLOCK_ERASE = 6


class RamBlockDevice:
    """littlefs2's extended block protocol (byte offsets, erase by ioctl) over a bytearray."""

    def __init__(self, blocks=BLOCKS, block_size=BLOCK_SIZE):
        self.block_size = block_size
        self.blocks = blocks
        self.data = bytearray(b"\xff" * (blocks * block_size))

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = self.data[start : start + len(buf)]

    def writeblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        self.data[start : start + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.blocks
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == _IOCTL_BLOCK_ERASE:
            start = arg * self.block_size
            for i in range(start, start + self.block_size):
                self.data[i] = 0xFF
        return 0


def mount_ram_flash(mount=MOUNT):
    """littlefs2 on a RAM block device at ``mount`` (kept if already mounted: a soft
    reset keeps RAM-backed files only while the board runs); its store, or None
    when this MicroPython was built without littlefs2."""
    import vfs

    lfs2 = getattr(vfs, "VfsLfs2", None)
    if lfs2 is None:
        return None
    for _fs, point in vfs.mount():
        if point == mount:
            return FileStore(mount + "/data")
    bdev = RamBlockDevice()
    lfs2.mkfs(bdev)
    vfs.mount(lfs2(bdev), mount)
    import os

    os.mkdir(mount + "/data")
    return FileStore(mount + "/data")


def make_board(scenario=None, speed=1, link=None):
    """The qemu board in service: real time (``speed`` 1), no end of run; the host
    link is the UART (stdin/stdout) unless ``link`` is given."""
    board = EmuBoard(Scenario(scenario or DEFAULT_WORLD, FAULTS), None, speed)
    board.name = NAME
    board.clock.end = None
    board.link = link if link is not None else stdio_link()
    store = mount_ram_flash() if sys.platform == "qemu" else None
    board.flash = store if store is not None else FlashStore()
    return board


def serve(scenario=None, speed=1, key=None):
    """Run the pump on the qemu board until the host asks for maintenance. ``key``
    (bytes) is first provisioned as the device key (SEC-1), as ``pumpctl flash --key``
    provisions a board: the RAM flash starts blank at every start of QEMU."""
    from boards.boot import KEY_FILE
    from boards.emu.service import run_world

    board = make_board(scenario, speed)
    if key:
        board.flash.write_atomic(KEY_FILE, KEY_FILE + ".tmp", key)
    return run_world(board, board.scenario, board.scenario.actions)
