"""The hardware abstraction every board implements.

The application (``firmware/pump``) reaches hardware only through a ``Board``
object built by a board module. Each driver below takes its pins or bus in its
constructor (micropython-lib style) and never creates hardware itself, so the
emulated board is just another board. Subclasses override every method;
``tests/test_hal_conformance.py`` checks that they do.

Units: time in ms ticks (wrap-safe, see ``pump.ticks``), pressure in ADC counts
(converted with ``full_scale_pa``), battery in mV, insulin never appears here:
the motor moves in pulses whose volume the application knows.
"""


class Clock:
    """Monotonic ms ticks that wrap at 2**30, like time.ticks_ms on rp2/esp32/stm32."""

    def ticks_ms(self):
        raise NotImplementedError

    def wait_until(self, ticks):
        """Idle until ``ticks`` (sleep on hardware, jump in virtual time)."""
        raise NotImplementedError


class Motor:
    """Syringe drive: one ``pulse`` pushes one insulin pulse of ``steps_per_pulse`` steps.

    ``steps_per_pulse`` is declared here, once, by each motor driver: the
    occlusion back-off (OCC-2) turns pulses into steps with the same figure
    the driver moves.
    """

    steps_per_pulse = 0  # each driver sets its own (>= 1); 0 fails the conformance test
    # ms the motor takes to push one pulse (0: at once, next to the 100 ms tick). The pump
    # never trains bolus pulses closer than this and a rest (pump.bolus.bolus_period_ms):
    # a motor that cannot keep up would run them into one slow push
    push_ms = 0

    def pulse(self):
        raise NotImplementedError

    def retract(self, steps):
        """Back the plunger off by ``steps`` motor steps (occlusion relief, OCC-2)."""
        raise NotImplementedError

    def position(self):
        """Plunger position in motor steps since the reservoir was loaded."""
        raise NotImplementedError


class PressureSensor:
    """Line pressure through a force sensor and an ADC."""

    counts_max = 4095  # 12-bit ADC
    full_scale_pa = 200000  # pressure at counts_max

    def read_raw(self):
        raise NotImplementedError


class Button:
    """The bolus button: a debounced level, True while held."""

    def pressed(self):
        raise NotImplementedError


class Connector:
    """Infusion-set connector switch; ``fitted`` is False where the hardware has none."""

    fitted = False

    def closed(self):
        raise NotImplementedError


class Buzzer:
    def tone(self, freq_hz, ms):
        raise NotImplementedError

    def off(self):
        raise NotImplementedError


class Led:
    def set(self, on):
        raise NotImplementedError


class Battery:
    def millivolts(self):
        raise NotImplementedError


class Watchdog:
    """Hardware watchdog, fed by the scheduler after every task run."""

    def feed(self, now=None):
        """``now``: the clock's ticks if the caller has just read them, else None."""
        raise NotImplementedError

    def watch(self, task, max_silence_ms):
        """Make ``task`` critical: stop feeding once it has not completed a run for
        ``max_silence_ms`` (a starved task resets the board, like a hung one; SCH-1)."""
        raise NotImplementedError

    def clear(self):
        """Watch no task any more (another app takes over the board): then every feed feeds."""
        raise NotImplementedError


class Link:
    """Byte link to the host (USB serial shared with the REPL, or a UART).

    ``connected`` is False only where no host can ever be attached (a scenario
    run): the boot then runs no protocol task on it.
    """

    connected = True

    def any(self):
        """Number of bytes waiting to be read (0 if none)."""
        raise NotImplementedError

    def readinto(self, buf):
        """Read up to len(buf) waiting bytes, never block; return the count."""
        raise NotImplementedError

    def write(self, data):
        raise NotImplementedError


class Board:
    """A board: its name, its drivers, and where its durable files and events go.

    Besides the drivers, the app and the boot (boards/boot.py) use:
    ``boot_reason`` ("power_on", "watchdog", ...: why this boot happened),
    ``storage_safe`` (False: the file system is not power-loss safe, e.g. FAT;
    the boot raises the journal alarm), ``event_sink`` (set by the boot to the
    host link's ``event``: events then go out framed), ``collect_in_idle`` (True: the
    scheduler collects garbage in its idle time, pump.idlegc, so no task pays for a
    collection; for bare-metal MicroPython, whose heap is small), ``storage()`` and ``emit``.
    """

    name = "abstract"
    clock = None  # Clock
    motor = None  # Motor
    pressure = None  # PressureSensor
    button = None  # Button
    connector = None  # Connector
    buzzer = None  # Buzzer
    led = None  # Led
    battery = None  # Battery
    watchdog = None  # Watchdog
    link = None  # Link
    storage_root = "/"  # directory for the journal (littlefs2 on every board)
    boot_reason = "power_on"
    storage_safe = True
    collect_in_idle = False
    event_sink = None  # callable(line), or None: emit writes the line itself

    def storage(self):
        """The durable files (journal, settings, profile, device key): an object with
        ``read``, ``write_atomic`` and ``write_at`` (pump.filestore.FileStore)."""
        raise NotImplementedError

    def emit(self, line):
        """Deliver one event-log line (ends with a newline): to ``event_sink`` when set."""
        raise NotImplementedError


DRIVERS = (
    ("clock", Clock),
    ("motor", Motor),
    ("pressure", PressureSensor),
    ("button", Button),
    ("connector", Connector),
    ("buzzer", Buzzer),
    ("led", Led),
    ("battery", Battery),
    ("watchdog", Watchdog),
    ("link", Link),
)
