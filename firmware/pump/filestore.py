"""Files on the board's filesystem (littlefs2 on every board and the vboard).

The journal and the settings files reach storage only through this interface
(read, write_atomic, write_at); MemoryStore below (the emulator's flash in scenario runs,
(boards/emu/board.py) implements the same three methods.
"""

import os


class FileStore:
    """Files under ``root`` on the board's filesystem (littlefs2 on every board and the vboard)."""

    def __init__(self, root):
        self.root = root.rstrip("/") + "/" if root else ""

    def read(self, name):
        try:
            with open(self.root + name, "rb") as f:
                return f.read()
        except OSError:
            return None

    def write_atomic(self, name, tmp, data):
        with open(self.root + tmp, "wb") as f:
            f.write(data)
            f.flush()
        os.rename(self.root + tmp, self.root + name)

    def write_at(self, name, offset, data):
        """Write ``data`` at ``offset`` of an existing file (create it zero-filled if missing)."""
        path = self.root + name
        try:
            f = open(path, "r+b")
        except OSError:
            f = open(path, "w+b")
        with f:
            f.seek(0, 2)
            if f.tell() < offset:
                f.write(bytes(offset - f.tell()))
            f.seek(offset)
            f.write(data)
            f.flush()


class MemoryStore:
    """Files in RAM with the same three methods: the emulated board's flash in scenario runs
    (kept across its reboots) and the bench-test mode's scratch files (never on flash). A
    rename is atomic by construction, as it is on littlefs."""

    def __init__(self):
        self.files = {}

    def read(self, name):
        return self.files.get(name)

    def write_atomic(self, name, tmp, data):
        self.files[name] = bytes(data)

    def write_at(self, name, offset, data):
        old = self.files.get(name, b"")
        if len(old) < offset:
            old = old + bytes(offset - len(old))
        self.files[name] = old[:offset] + bytes(data) + old[offset + len(data) :]
