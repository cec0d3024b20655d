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


_PAGE = 256  # MemoryStore's unit of allocation


class MemoryStore:
    """Files in RAM with the same three methods: the emulated board's flash in scenario runs
    (kept across its reboots) and the bench-test mode's scratch files (never on flash). A
    rename is atomic by construction, as it is on littlefs.

    A file written whole is kept as its bytes (``files``); one written in place is its size
    and a list of fixed pages (``paged``): on the 64 KB Cortex-M3 the emulated flash shares
    the pump's heap, and a file copied (or grown) whole at every write soon left no hole
    for the next copy of a 4 KB record ring."""

    def __init__(self):
        self.files = {}  # name -> bytes
        self.paged = {}  # name -> [size, page, page, ...]

    def read(self, name):
        data = self.files.get(name)
        f = self.paged.get(name)
        if data is not None or f is None:
            return data
        size = f[0]
        out = bytearray(size)
        for i in range(1, len(f)):
            start = (i - 1) * _PAGE
            n = min(_PAGE, size - start)
            out[start : start + n] = memoryview(f[i])[:n]
        return bytes(out)  # what is on flash, not a live view

    def write_atomic(self, name, tmp, data):
        self.files[name] = bytes(data)
        self.paged.pop(name, None)

    def write_at(self, name, offset, data):
        f = self.paged.get(name)
        whole = self.files.pop(name, None)
        if whole is not None or f is None:
            f = self.paged[name] = [0]
            if whole:
                self._write_pages(f, 0, whole)
        self._write_pages(f, offset, data)

    def _write_pages(self, f, offset, data):
        end = offset + len(data)
        while (len(f) - 1) * _PAGE < end:
            f.append(bytearray(_PAGE))
        if end > f[0]:
            f[0] = end
        view = memoryview(data)
        done = 0
        while done < len(data):
            at = offset + done
            page = f[1 + at // _PAGE]
            start = at % _PAGE
            n = min(_PAGE - start, len(data) - done)
            page[start : start + n] = view[done : done + n]
            done += n
