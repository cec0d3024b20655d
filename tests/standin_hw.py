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


class PortClock:
    """The port's ``time`` for a board under test: ms ticks that only sleeps advance."""

    def __init__(self, start=0):
        self.now = start

    def ticks_ms(self):
        return self.now & 0x3FFFFFFF

    def sleep_ms(self, ms):
        self.now += ms

    def sleep_us(self, us):
        pass  # step pulses: too short to count at ms resolution


class _Pin:
    OUT, IN, PULL_UP, IRQ_FALLING, IRQ_RISING = 1, 0, 1, 4, 8

    def __init__(self, port, pin_id, *args):
        self.port, self.id = port, pin_id
        port.pins[pin_id] = self

    def value(self, v=None):
        levels = self.port.levels
        if v is None:
            return levels.get(self.id, 1)  # pulled up: button released
        if v and not levels.get(self.id, 0):
            self.port.rises[self.id] = self.port.rises.get(self.id, 0) + 1
        levels[self.id] = v
        return None

    def irq(self, handler=None, trigger=0):
        self.handler = handler


class WorkingPort:
    """Stand-ins for ``machine``, ``time`` and ``vfs`` that behave like a quiet board at
    rest, so a board built by boards/device.py from a real pin map boots and runs on a
    host: pins hold levels, the ADC reads ``adc_u16[pin]``, the WDT counts feeds, ticks
    move on sleeps, and ``storage_root`` is mounted littlefs2."""

    def __init__(self, storage_root, adc_u16, levels=None, reset_cause=1):
        self.clock = PortClock()
        self.pins = {}
        self.levels = dict(levels or {})
        self.rises = {}  # pin id -> rising edges written (step pulses)
        self.adc_u16 = adc_u16  # pin id -> callable() giving the next read_u16
        self.wdt_feeds = 0
        self.storage_root = storage_root
        self._reset_cause = reset_cause

    def modules(self):
        port = self
        machine = types.ModuleType("machine")

        class Pin(_Pin):
            def __init__(self, pin_id, *args):
                _Pin.__init__(self, port, pin_id, *args)

        class ADC:
            def __init__(self, pin, **kwargs):
                self.read = port.adc_u16[pin.id]

            def read_u16(self):
                return self.read()

        class WDT:
            def __init__(self, timeout=0):
                self.timeout = timeout

            def feed(self):
                port.wdt_feeds += 1

        class VfsLfs2:
            pass

        machine.Pin, machine.ADC, machine.WDT = Pin, ADC, WDT
        machine.PWM = machine.I2C = StandIn
        machine.Timer = type("Timer", (StandIn,), {"ONE_SHOT": 0})
        machine.WDT_RESET, machine.PWRON_RESET = 3, 1
        machine.reset_cause = lambda: port._reset_cause
        time = types.ModuleType("time")
        time.ticks_ms, time.sleep_ms = self.clock.ticks_ms, self.clock.sleep_ms
        time.sleep_us = self.clock.sleep_us
        vfs = types.ModuleType("vfs")
        vfs.VfsLfs2 = VfsLfs2
        vfs.mount = lambda: [(VfsLfs2(), port.storage_root)]
        return {"machine": machine, "time": time, "vfs": vfs}

    @contextlib.contextmanager
    def installed(self):
        """The stand-ins in ``sys.modules`` while a board is built (the drivers keep
        the functions they were given)."""
        mods = self.modules()
        saved = {key: sys.modules.get(key) for key in mods}
        sys.modules.update(mods)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    sys.modules.pop(key, None)
                else:
                    sys.modules[key] = value
