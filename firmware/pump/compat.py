"""The few names that differ between MicroPython and CPython."""

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(value):
        return value


try:
    from time import ticks_ms as _board_ticks_ms  # noqa: F401

    MICROPYTHON = True
except ImportError:
    MICROPYTHON = False
