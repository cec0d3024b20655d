"""Stand-ins for the port-only modules (machine, pyb, vfs, ...) so board factories run on a host.

They accept any constructor, attribute or call and return another stand-in:
enough for ``make_board()`` to wire its drivers so a test can inspect which
driver classes a board uses. They model no hardware behaviour: the drivers'
behaviour is tested with fake pins in test_board_drivers.py, and whether the
board modules call real APIs of each port is proved by the stub type-check.
"""

import contextlib
import importlib
import sys
import types


class StandIn:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return StandIn()

    def __call__(self, *args, **kwargs):
        return StandIn()

    def __or__(self, other):
        return self

    def __iter__(self):
        return iter(())


def standin_module(name):
    module = types.ModuleType(name)
    module.__getattr__ = lambda attr: StandIn()  # type: ignore[attr-defined]
    return module


PORT_ONLY_MODULES = ("machine", "pyb", "vfs", "rp2", "esp32", "select", "time")


@contextlib.contextmanager
def board_module(name):
    """``boards.<name>`` imported with the port-only modules replaced by stand-ins;
    everything (the stand-ins and the module that captured them) is removed after."""
    import boards

    keys = PORT_ONLY_MODULES + ("boards." + name,)
    saved = {key: sys.modules.get(key) for key in keys}
    try:
        for mod in PORT_ONLY_MODULES:
            sys.modules[mod] = standin_module(mod)
        sys.modules.pop("boards." + name, None)
        yield importlib.import_module("boards." + name)
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
        if hasattr(boards, name):
            delattr(boards, name)
