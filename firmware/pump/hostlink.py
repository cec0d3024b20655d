"""The serial protocol inside the app: host commands in, status and events out.

Runs as an App hook every control tick (``app.hooks``): reads whatever the
link has, answers each command frame through ``pump.commands`` (the same
parser and limits as scenarios and the button), and sends a STATUS frame every
``status_ms``. ``maintenance`` suspends delivery, stops telemetry and ends the
scheduler so the board falls through to its REPL for flashing.
"""

from pump import commands, protocol
from pump.app import CONTROL_MS
from pump.compat import const
from pump.delivery import MAINTENANCE
from pump.ticks import ticks_add, ticks_diff
from pump.units import InputError
from pump.version import VERSION

try:
    from fwbuild import BUILD  # written into each firmware slot by pumpctl flash
except ImportError:
    BUILD = "dev"

STATUS_MS = const(1000)
_READ_CHUNK = const(256)
_MAX_SAMPLES = const(50)  # pressure samples per status frame (5 s at 10 Hz)
# Commands of the protocol itself (not delivery commands); the bench ones: boards/bench.py.
LINK_COMMANDS = ("status", "maintenance", "ping", "telemetry", "bench", "samples", "bench_end")
MIN_STATUS_MS = const(100)
_BG_SHOWN_S = const(3600)  # a reading older than an hour is not shown as the BG
MAX_STATUS_MS = const(3600000)
# SEC-1: with a device key, every command that changes delivery or takes the
# link away needs an authenticated frame; ping and status stay open (read-only).
AUTH_REQUIRED = commands.NAMES + ("maintenance", "telemetry", "bench", "bench_end")


class HostLink:
    def __init__(self, app, link, status_ms=STATUS_MS, auth=None, auth_required=()):
        self.app = app
        self.link = link
        self.status_ms = status_ms
        self.dev = protocol.DeviceLink(link.write, self.handle, auth, auth_required)
        self._buf = bytearray(_READ_CHUNK)
        self._view = memoryview(self._buf)
        self._next_status = None
        self._sample_index = app.pressure_index  # next ring sample not yet reported
        self._now = 0
        self.maintenance = False
        self.bench_request = None  # (settings, profile, tod ms, connector fitted): asked for
        self.feed = None  # the sample feed while this link serves a bench session

    def poll(self):
        """Read and answer whatever the link has (the bench clock calls it while it waits)."""
        link = self.link
        n = link.any()
        while n:
            k = link.readinto(self._buf)
            if not k:
                break
            self.dev.feed(self._view[:k])
            n = link.any()

    def tick(self, now):
        self._now = now
        self.poll()
        if self.maintenance:
            return
        if self._next_status is None or ticks_diff(now, self._next_status) >= 0:
            self._next_status = ticks_add(now, self.status_ms)
            self.send_status()

    def send_status(self):
        """One STATUS frame. Over MAX_PAYLOAD (4-digit samples, a nonce, the BG and several
        alarms can pass it) the alarms are cut to 6, then the oldest half of the samples
        dropped until it fits: the newest samples still reach the host, and telemetry never
        stops the control task."""
        status = self.status()
        samples = status["samples"]
        while True:
            try:
                self.dev.status(status)
                return
            except ValueError:  # encode() refuses before anything is written
                if len(status["alarms"]) > 6:
                    status["alarms"] = status["alarms"][:6]
                elif samples:
                    samples = samples[(len(samples) + 1) // 2 :]
                    status["samples"] = samples
                else:
                    return  # nothing left to cut: this frame is not sent

    def event(self, line):
        """Board event sink: one event-log line as an EVENT frame."""
        self.dev.event(line.rstrip("\n"))

    def status(self):
        app = self.app
        d = app.delivery
        bolus = d.bolus
        alarms = []
        for a in app.alarms.records:
            alarms.append([a.kind, a.priority, 1 if a.active else 0])
        i = app.pressure_index - 1
        ring = app.pressure
        n = app.pressure_index - self._sample_index
        if n < 0:
            n += len(ring)
        if n > _MAX_SAMPLES:
            n = _MAX_SAMPLES
        samples = []
        j = app.pressure_index - n
        for _ in range(n):
            samples.append(ring[j])  # j < 0 indexes from the end: the ring wraps
            j += 1
        self._sample_index = app.pressure_index
        connector = app.board.connector
        auth = self.dev.reader.auth
        therapy = app.therapy
        status = {
            "fw": VERSION,
            # SEC-1: hosts sign commands for this boot's nonce ("" = no key, open link).
            "nonce": _hex(auth.nonce) if auth is not None else "",
            "ctr": auth.last_counter if auth is not None else 0,  # sign with a higher one
            "build": BUILD,
            "board": app.board.name,
            "t_ms": app.uptime.now_ms(),
            "mode": d.mode,
            "rate_mu_h": d.rate,
            "rate_src": d.rate_src,
            "bolus_mu": bolus.amount if bolus is not None else 0,
            "bolus_given_mu": bolus.delivered() if bolus is not None else 0,
            "day_mu": d.totals.day,
            "reservoir_mu": d.reservoir,
            "pulse_mu": app.settings.pulse,
            "minutes_left": d.minutes_left(),
            "battery_mv": app.board.battery.millivolts(),
            "pressure": ring[i],
            "samples": samples,  # counts, one per control tick, oldest first
            "sample_ms": CONTROL_MS,
            "connector": (1 if connector.closed() else 0) if connector.fitted else -1,
            "alarms": alarms,
            "bench": 1 if self.feed is not None else 0,  # bench-test mode: the sensor is a trace
            "iob_mu": therapy.iob(),  # insulin on board (docs/therapy.md)
        }
        g = therapy.glucose
        newest = g.latest()
        if newest >= 0:  # only once there is a reading: the frame must stay under MAX_PAYLOAD
            # mg/dL (0: none within the hour), age s, CGM trend, the unit the user reads
            status["bg"] = [g.latest_mgdl(therapy.now_s, _BG_SHOWN_S),
                            therapy.now_s - g.times[newest], g.trend(), app.settings.glucose_unit]
        return status

    def handle(self, name, args):
        """DeviceLink handler: (ok, reason)."""
        if name == "ping":
            return True, ""
        if name == "status":
            self.send_status()
            return True, ""
        if name == "telemetry":
            ms = args.get("status_ms")
            if type(ms) is not int or not MIN_STATUS_MS <= ms <= MAX_STATUS_MS:
                return False, "args.status_ms: expected an integer %d..%d" % (
                    MIN_STATUS_MS,
                    MAX_STATUS_MS,
                )
            self.status_ms = ms
            self._next_status = None  # the new period starts now
            return True, ""
        if name == "maintenance":
            self.enter_maintenance()
            return True, ""
        if name in ("bench", "samples", "bench_end"):
            return self.bench(name, args)
        try:
            cmd = commands.parse(name, args, "args")
        except InputError as e:
            return False, str(e)
        reason = commands.execute(self.app, self._now, cmd, "host", confirm_on_pump=True)
        if reason is None and (name == "bolus" or name == "wizard" or name == "prime"):
            return True, "confirm_on_pump"  # offered: the user confirms with the long press
        return reason is None, reason or ""

    def bench(self, name, args):
        """Bench-test mode (boards/bench.py): ``bench`` asks for it, ``samples`` feed it,
        ``bench_end`` ends it. Only with a device key: the key proves who asks."""
        if name == "bench":
            if self.dev.reader.auth is None:
                return False, "bench mode needs a device key (SEC-1): provision one first"
            if self.feed is not None:
                return False, "already in bench mode"
            try:
                self.bench_request = _bench_setup(args)
            except InputError as e:
                return False, str(e)
            self.app.log.emit("bench", "state=requested")
            self.enter_maintenance()  # delivery stops, and stays stopped after the bench
            self.dev.enabled = True
            return True, ""
        if self.feed is None:
            return False, "not in bench mode"
        if name == "bench_end":
            self.feed.end_ms = self._now  # the bench clock stops here
            return True, ""
        return self.feed.push(args.get("s"), args.get("end_ms"))

    def enter_maintenance(self):
        """Suspend delivery safely, go quiet, stop the scheduler after this tick."""
        app = self.app
        app.delivery.set_mode(self._now, MAINTENANCE, "host")
        self.maintenance = True
        self.dev.enabled = False  # the response still goes out; then silence
        app.sched.running = False


def _hex(data):
    return "".join("%02x" % b for b in data)


def _bench_setup(args):
    """(settings, profile, time of day ms, connector fitted) of a ``bench`` command."""
    from pump.basal import BasalProfile
    from pump.settings import Settings
    from pump.units import to_int

    settings = Settings(args.get("settings", {}), "args.settings")
    profile = BasalProfile.parse(
        args.get("basal_u_per_h"), settings.max_basal, "args.basal_u_per_h"
    )
    tod = to_int(args.get("start_ms", 0), "args.start_ms", 0, 86399999)
    return settings, profile, tod, args.get("connector_fitted") is True
