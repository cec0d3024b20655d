"""The event log: one text line per event, stamped with ms since boot.

Line format (docs/events.md): ``<t_ms> <kind>[ <key>=<value>...]\n``. Values are
ints (insulin in milli-units, times in ms) or bare words, formatted with ``%``
so CPython and MicroPython produce the same bytes.
"""


class EventLog:
    def __init__(self, sink, uptime):
        self._sink = sink  # callable(line); the board decides where lines go
        self._uptime = uptime
        self.count = 0

    def emit(self, kind, fields=""):
        self.emit_at(self._uptime.now_ms(), kind, fields)

    def emit_at(self, t_ms, kind, fields=""):
        """Emit with an explicit stamp: a breakpoint inside the tick being settled."""
        if fields:
            line = "%d %s %s\n" % (t_ms, kind, fields)
        else:
            line = "%d %s\n" % (t_ms, kind)
        self.count += 1
        self._sink(line)
