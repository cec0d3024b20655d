"""The line supervision task: detectors in, alarms and occlusion relief out.

Runs as a hook of the app's 100 ms control task, right after the pressure
sample is taken and before delivery settles, so a pulse made in tick t is
handed to the detectors before the sample of tick t + 100 ms (pulses are seen
through the delivery counters: the core needs no callback).

- occlusion (OCC-1): high-priority alarm, delivery stops; the plunger backs off
  by the pressure held in the line (OCC-2), so clearing the blockage releases
  (almost) nothing;
- disconnect / leak (DIS-1): high-priority ``disconnect`` alarm (cause=pressure,
  leak or connector); the connector switch, where fitted, is read every tick;
- sensor (SEN-1): high-priority ``sensor`` alarm while the fault stands.

Line faults seen through pressure cannot be seen to go away while delivery is
stopped, so their alarms latch: acknowledging one means the user has fixed
the set, and starts a probation (the detectors re-arm, keeping what they
learned about the site, and raise again within their pulse targets if the
fault is still there). Connector and sensor faults are visible and clear by
themselves.
"""

from pump.compat import const
from pump.linewatch import LineWatch
from pump.sensorcheck import FAULT_NAMES, OK

STEPS_PER_PULSE = const(10)  # motor steps per pulse (board default; see boards/emu/board.py)
MAX_RELIEF_PULSES = const(40)
NL_PER_MU = const(10)  # U-100: 1 U = 10 uL, 1 mU = 10 nL


def held_pa(watch):
    """Pressure held in the line above its resting baseline (Pa, >= 0)."""
    feat = watch.feat
    held = feat.level - feat.baseline()
    return held if held > 0 else 0


def relief_steps(watch, steps_per_pulse):
    """OCC-2: motor steps that take back the volume the held pressure stands for
    (held pressure / learned pressure per pulse, in pulses, times steps per pulse)."""
    jref = watch.dis.jref
    steps = held_pa(watch) * steps_per_pulse // jref if jref > 0 else 0
    cap = MAX_RELIEF_PULSES * steps_per_pulse
    return cap if steps > cap else steps


class LineTask:
    def __init__(self, app):
        self.app = app
        self.board = app.board
        self.pulse_mu = app.settings.pulse
        self.watch = LineWatch(app.settings.pulse * NL_PER_MU)
        self.steps_per_pulse = getattr(app.board.motor, "steps_per_pulse", STEPS_PER_PULSE)
        self._given = 0
        self._prev = 0
        self._sensor = OK
        self._connector_open = False
        self.relief_steps = 0

    def _seen_pulses(self):
        d = self.app.delivery
        given = d.basal_given + d.bolus_given
        n = 0
        if given != self._given:
            n = (given - self._given) // self.pulse_mu
            self._given = given
        return n

    def tick(self, now):
        app = self.app
        watch = self.watch
        n = self._seen_pulses()
        while n > 0:  # the pulses of the previous tick come before this tick's sample
            watch.pulse(self._prev)
            n -= 1
        ring = app.pressure
        i = app.pressure_index - 1
        if i < 0:
            i = len(ring) - 1
        watch.sample(now, ring[i])
        self._prev = now
        self._check_sensor(now)
        self._check_connector(now)
        if self._sensor == OK:
            self._check_line(now)

    def _check_sensor(self, now):
        fault = self.watch.sensor_fault()
        if fault == self._sensor:
            return
        self._sensor = fault
        if fault != OK:
            self.app.raise_alarm("sensor", now, "fault=%s" % FAULT_NAMES[fault])
        else:
            self.app.clear_alarm("sensor", now)

    def _check_connector(self, now):
        connector = self.board.connector
        if connector is None or not connector.fitted:
            return
        is_open = not connector.closed()
        if is_open == self._connector_open:
            return
        self._connector_open = is_open
        if is_open:
            self.app.raise_alarm("disconnect", now, "cause=connector")
        else:
            self.app.clear_alarm("disconnect", now)
            self.watch.rearm()

    def _check_line(self, now):
        app = self.app
        alarms = app.alarms
        watch = self.watch
        if watch.occluded() and not alarms.standing("occlusion"):
            app.raise_alarm("occlusion", now, "held_pa=%d" % held_pa(watch))
            self._relieve(now)
        if not alarms.standing("disconnect"):
            if watch.disconnected():
                app.raise_alarm("disconnect", now, "cause=pressure")
            elif watch.leaking():
                app.raise_alarm("disconnect", now, "cause=leak")
        # an acknowledged line alarm: the user has seen to the set; re-verify on the next pulses
        for kind in ("occlusion", "disconnect"):
            alarm = alarms.find(kind)
            if alarm is not None and alarm.standing and not alarm.active:
                if kind == "disconnect" and self._connector_open:
                    continue
                app.clear_alarm(kind, now)
                watch.rearm()

    def _relieve(self, now):
        """OCC-2: back the plunger off by the volume the held pressure stands for."""
        steps = relief_steps(self.watch, self.steps_per_pulse)
        if steps <= 0:
            return
        self.board.motor.retract(steps)
        self.relief_steps += steps
        self.app.log.emit("retract", "steps=%d" % steps)
