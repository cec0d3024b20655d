"""Host link over the USB serial port the REPL also uses."""

from boards import hal


class StreamLink(hal.Link):
    """Non-blocking byte link over stdio (rp2, esp32).

    ``poller`` is a ``select.poll()`` with ``sys.stdin`` registered for
    ``POLLIN``; ``reader``/``writer`` are ``sys.stdin.buffer``/``sys.stdout.buffer``.
    ``any()`` is 1 when at least one byte waits: stdio cannot say how many.
    """

    def __init__(self, poller, reader, writer):
        self._poller = poller
        self._reader = reader
        self._writer = writer
        self._one = bytearray(1)

    def any(self):
        # ipoll, unlike poll, returns without allocating a result list.
        for _ in self._poller.ipoll(0):
            return 1
        return 0

    def readinto(self, buf):
        count = 0
        while count < len(buf) and self.any():
            if not self._reader.readinto(self._one):
                break
            buf[count] = self._one[0]
            count += 1
        return count

    def write(self, data):
        self._writer.write(data)


def stdio_link():
    """A StreamLink over this board's stdin/stdout (the USB serial or UART REPL)."""
    import select
    import sys

    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    return StreamLink(poller, sys.stdin.buffer, sys.stdout.buffer)


class VcpLink(hal.Link):
    """The pyboard's ``pyb.USB_VCP``, which already has any/readinto/write."""

    def __init__(self, vcp):
        self._vcp = vcp

    def any(self):
        return 1 if self._vcp.any() else 0

    def readinto(self, buf):
        if not self._vcp.any():
            return 0
        return self._vcp.readinto(buf) or 0

    def write(self, data):
        self._vcp.write(data)
