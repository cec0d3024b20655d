"""The few names that differ between MicroPython and CPython.

``micropython`` is the real module on MicroPython and a stand-in under CPython, so a
module can say ``from pump.compat import micropython`` and decorate its hot functions
with ``@micropython.native``: MicroPython's compiler acts on the decorator by its name
(native machine code, the same Python semantics); under CPython it returns the function.
``@micropython.viper`` changes the semantics (machine-word ints): a viper function needs
a plain-Python twin and the equality test in tests/test_twins.py.
"""

try:
    import micropython  # noqa: F401  # pyright: ignore[reportAssignmentType]
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(value):
        return value

    class micropython:  # noqa: N801  (stands in for the module)
        @staticmethod
        def native(fn):
            return fn

        @staticmethod
        def viper(fn):
            return fn


def ptr32(buf):
    """The plain-Python meaning of viper's ``ptr32(buf)`` cast: the array itself.

    Inside a ``@micropython.viper`` function MicroPython's compiler takes ``ptr32`` as its
    own cast (a pointer to the array's 32-bit words) whatever this name is bound to; under
    CPython the same source indexes the array. Viper's loads zero-extend on a 64-bit port,
    so such a function sign-fixes what it loads (pump/linefeat.py ``sample``)."""
    return buf


def ptr16(buf):
    """``ptr16(buf)`` under CPython: the array itself (see ``ptr32``; 16-bit loads
    zero-extend, right for an array of "H")."""
    return buf


def zeros(typecode, n):
    """``array(typecode)`` of ``n`` zeros in one allocation of its own size, where
    ``array(typecode, bytes(size))`` needs a free hole for the bytes too: twice the room at
    boot, which a 64 KB board's heap may not have in one piece. For typecodes that hold
    ``n - 1`` (H, h, i, I, l, L)."""
    from array import array

    out = array(typecode, range(n))  # sized once from the range's length
    for i in range(n):
        out[i] = 0
    return out
