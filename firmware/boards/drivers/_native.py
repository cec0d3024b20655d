"""Stand-in for the ``micropython`` module's code-emitter decorators under CPython.

On MicroPython the compiler handles ``@micropython.native`` itself; under
CPython the decorated function stays plain Python.
"""


def native(fn):
    return fn


def viper(fn):
    return fn
