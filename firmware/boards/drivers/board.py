"""What the three real boards share: drivers in slots, files on flash, events out over the link."""

import os

from pump.filestore import FileStore

from boards import hal


class HardwareBoard(hal.Board):
    """A board whose drivers are all passed in; ``pins`` is the pin map it was built from."""

    def __init__(
        self,
        name,
        pins,
        boot_reason,
        clock,
        motor,
        pressure,
        button,
        connector,
        buzzer,
        led,
        battery,
        watchdog,
        link,
        storage_root="/",
        storage_safe=True,
    ):
        self.name = name
        self.pins = pins
        self.boot_reason = boot_reason  # "power_on" or "watchdog", for App.boot
        self.clock = clock
        self.motor = motor
        self.pressure = pressure
        self.button = button
        self.connector = connector
        self.buzzer = buzzer
        self.led = led
        self.battery = battery
        self.watchdog = watchdog
        self.link = link
        self.storage_root = storage_root
        self.storage_safe = storage_safe  # False: the journal's file system is not power-loss safe
        self.event_sink = None  # set to the host link's event(line): events go out framed
        self.collect_in_idle = True  # MicroPython on a microcontroller: never GC inside a task
        self._store = None

    def storage(self):
        """Files in ``<storage_root>/data`` (created if missing)."""
        if self._store is None:
            path = self.storage_root.rstrip("/") + "/data"
            try:
                os.mkdir(path)
            except OSError:  # already there
                pass
            self._store = FileStore(path)
        return self._store

    def emit(self, line):
        if self.event_sink is not None:
            self.event_sink(line)
        else:
            self.link.write(line.encode())
