"""The emulated board's flash chip: a block device over an image file.

``vfs.VfsLfs2`` mounts it exactly as rp2/esp32 mount their flash, so files land
on the emulated board in the same littlefs2 layout a real board uses. It
implements the extended block protocol (byte offsets, erase via ioctl 6), the
one littlefs needs. Runs on MicroPython (the vboard) and CPython (tests).
"""

import sys

ERASED = 0xFF
# MicroPython's files are unbuffered (each write reaches the kernel at once)
# and its flush() is an fsync: skip it, a killed vboard loses nothing anyway.
_FLUSH = sys.implementation.name != "micropython"

_IOCTL_INIT = 1
_IOCTL_DEINIT = 2
_IOCTL_SYNC = 3
_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_SIZE = 5
_IOCTL_BLOCK_ERASE = 6

BLOCK_SIZE = 4096  # erase sector of the NOR flash on rp2/esp32 boards


def create_image(path, size_bytes, block_size=BLOCK_SIZE):
    """Write a blank (erased, 0xFF) image of ``size_bytes`` rounded down to blocks."""
    blocks = size_bytes // block_size
    if blocks < 8:
        raise ValueError("flash image needs at least 8 blocks of %d bytes" % block_size)
    blank = bytes([ERASED]) * block_size
    with open(path, "wb") as f:
        for _ in range(blocks):
            f.write(blank)
    return blocks


class FileBlockDevice:
    """Fixed-size blocks stored in an open binary file (``r+b``).

    The file stays open for the life of the device: the vboard unmounts the
    host filesystem after opening it, and the handle is then the only way in.
    """

    def __init__(self, f, block_size=BLOCK_SIZE, block_count=None):
        self.f = f
        self.block_size = block_size
        if block_count is None:
            f.seek(0, 2)
            block_count = f.tell() // block_size
        self.block_count = block_count
        self._erased = bytes([ERASED]) * block_size

    def readblocks(self, block, buf, offset=0):
        self._check(block, offset, len(buf))
        self.f.seek(block * self.block_size + offset)
        n = self.f.readinto(buf)
        if n != len(buf):
            raise OSError(5)  # EIO: the image file is shorter than it claims

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple protocol: erase then write whole blocks
            offset = 0
            for i in range(len(buf) // self.block_size):
                self.ioctl(_IOCTL_BLOCK_ERASE, block + i)
        self._check(block, offset, len(buf))
        self.f.seek(block * self.block_size + offset)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == _IOCTL_BLOCK_ERASE:
            self._check(arg, 0, self.block_size)
            self.f.seek(arg * self.block_size)
            self.f.write(self._erased)
            return 0
        if op == _IOCTL_SYNC:
            # Durability point: littlefs syncs after each commit, so a killed
            # vboard process leaves the image as a power cut leaves a chip.
            if _FLUSH:
                self.f.flush()
            return 0
        if op in (_IOCTL_INIT, _IOCTL_DEINIT):
            return 0
        return None

    def _check(self, block, offset, length):
        if block < 0 or offset < 0 or (block * self.block_size + offset + length
                                       > self.block_count * self.block_size):
            raise OSError(5)
