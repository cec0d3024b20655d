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

Planned disconnect (DIS-2, the quick release for a shower or a swim): the
``planned_disconnect`` command suspends delivery with no disconnect alarm and
counts the basal the profile would have given; the connector switch, where
fitted, may open and close meanwhile (closing it again ends the planned
disconnect). After ``remind_min`` a medium-priority ``reconnect`` alarm reminds
the user and escalates if ignored. ``planned_reconnect`` (or the switch
closing) resumes delivery and reports the basal missed. A disconnect without
the command still alarms.

Line faults seen through pressure cannot be seen to go away while delivery is
stopped, so their alarms latch: acknowledging one means the user has fixed
the set, and starts a probation (the detectors re-arm, keeping what they
learned about the site, and raise again within their pulse targets if the
fault is still there). Connector and sensor faults are visible and clear by
themselves.
"""

from pump import linecal
from pump.compat import const, micropython, ptr16
from pump.disconnect import LEARN_PULSES
from pump.linewatch import LineWatch
from pump.sensorcheck import FAULT_NAMES, OK
from pump.ticks import ticks_diff

MAX_RELIEF_PULSES = const(200)  # 10 U at 0.05 U: more than any line can hold
_MS_PER_H = const(3600000)
_MAX_TICK_GAP_MS = const(10000)  # longer than the watchdog allows: not a real tick gap
_LINE_KINDS = ("occlusion", "disconnect")
NL_PER_MU = const(10)  # U-100: 1 U = 10 uL, 1 mU = 10 nL
_OK = const(0)  # pump.sensorcheck.OK (viper code: a const here)


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
        s = app.settings
        # the bolus pulse period pump.delivery trains a bolus at (settings are fixed at boot)
        self.watch = LineWatch(s.pulse * NL_PER_MU, app.delivery.bolus_period())
        # what tick() reads every 100 ms, held here rather than looked up through the app
        # and the board each time (an attribute read costs as much as an add of ten)
        connector = app.board.connector
        self._connector = connector if connector is not None and connector.fitted else None
        self._fitted = self._connector is not None  # (viper code cannot compare with None)
        self.steps_per_pulse = app.board.motor.steps_per_pulse  # declared by the motor (HAL)
        self._given = 0
        self._prev = 0
        self._sensor = OK
        self._connector_open = False
        self.relief_steps = 0
        self._latched = False  # a line alarm raised here stands: watch for its ack
        self.planned = False  # a planned disconnect is under way (DIS-2)
        self._planned_start = 0
        self._planned_remind = 0
        self._planned_reminded = False
        self._planned_opened = False
        self._missed_mu = 0
        self._missed_acc = 0  # mU*ms/h below one mU
        self._store = app.journal.store if app.journal is not None else None
        self._learned_saved = 0  # dis.learned when last saved, while learning
        self._updates = 0  # dis.updates when calibration was last looked at (pump/linecal.py)

    def resync(self):
        """After a reboot the delivered totals come from the journal: start counting pulses
        from there, rather than feeding a lifetime of pulses to the detectors at once."""
        self._given = self.app.delivery.pushed
        values = linecal.load(self._store)
        if values is not None:
            self.watch.restore(values)
            self._updates = self.watch.dis.updates
            self._learned_saved = self.watch.dis.learned
            self._log_cal("restored")

    def new_site(self, now):
        """A set change or a prime: the detectors learn the new site from its first pulses."""
        self.watch.new_site()
        self._updates = 0
        self._learned_saved = 0
        self._save_cal()
        self._log_cal("new_site")

    def _log_cal(self, state):
        watch = self.watch
        self.app.log.emit(
            "line",
            "state=%s learned=%d bump=%d tau=%d noise=%d"
            % (state, watch.dis.learned, watch.dis.jref, watch.dis.tau_ms(),
               watch.feat.noise_pa()),
        )  # fmt: skip

    def _save_cal(self):
        linecal.save(self._store, self.watch.learned())

    def _calibrated(self):
        """The detectors learned from one more pulse: keep it (each pulse until the site is
        learned, then every SAVE_EVERY), and say when the site has been learned."""
        dis = self.watch.dis
        self._updates = dis.updates
        learning = dis.learned != self._learned_saved and dis.learned <= LEARN_PULSES
        if learning or dis.updates <= LEARN_PULSES or dis.updates % linecal.SAVE_EVERY == 0:
            self._save_cal()
            if learning:
                self._learned_saved = dis.learned
            # every write is logged: the record is what a reboot will take back (and the
            # control step that writes it is never a quiet one: it allocates)
            self._log_cal("calibrated" if learning and dis.learned == LEARN_PULSES else "saved")

    def _seen_pulses(self):
        given = self.app.delivery.pushed  # basal, bolus and prime pulses alike
        n = 0
        if given != self._given:
            n = (given - self._given) // self.pulse_mu
            self._given = given
        return n

    @micropython.viper
    def tick(self, now: int):
        """One control tick: this tick's sample and the last tick's pulses to the detectors,
        then the alarms. Most ticks see no pulse, no fault and no change: ``watch.sample``
        says when there is something to look at, and the handlers run only then.

        A viper function (its compares on machine ints, the ring read by pointer); the
        same source runs as plain Python under CPython, where the differential tests hold
        both to the same event log."""
        app = self.app
        watch = self.watch
        look = False
        if int(app.delivery.pushed) != int(self._given):
            n = int(self._seen_pulses())
            while n > 0:  # the pulses of the previous tick come before this tick's sample
                watch.pulse(self._prev)
                n -= 1
                look = True  # a pulse's features and the bolus test may have judged
        i = int(app.pressure_index) - 1
        if i < 0:
            i = int(len(app.pressure)) - 1
        if watch.sample(now, ptr16(app.pressure)[i]):  # this tick's sample (a ring of "H")
            look = True
        elif int(self._sensor) != _OK:
            look = True
        if look:
            dis = watch.dis
            if int(dis.updates) != int(self._updates):
                self._calibrated()
            if int(watch.sensor.fault) != int(self._sensor):
                self._sensor_changed(now)
        if self._fitted:
            if self._connector.closed() == self._connector_open:  # (not closed) != open: moved
                self._connector_changed(now)
        if self.planned:
            self._planned_tick(now, ticks_diff(now, self._prev))
        elif look or self._latched:
            # a line fault is only raised where the detectors ran (look), and stays latched
            # (``_latched``) until acknowledged and re-armed: no other tick can find one
            dis = watch.dis
            if int(self._sensor) == _OK and (
                watch.occ.occluded or dis.disconnected or dis.leaking or self._latched
            ):
                self._check_line(now)
        self._prev = now  # read only at the next tick's pulses and by a planned disconnect

    # -- planned disconnect (DIS-2) -------------------------------------------------

    def planned_start(self, now, remind_ms):
        """The user is about to open the quick release. None if accepted, else the reason."""
        if self.planned:
            return "already_planned"
        reason = self.app.delivery.set_mode(now, "suspended", "planned_disconnect")
        if reason is not None:
            return reason
        self.planned = True
        self._planned_start = now
        self._planned_remind = remind_ms
        self._planned_reminded = False
        self._planned_opened = False
        self._missed_mu = 0
        self._missed_acc = 0
        self.app.log.emit("planned", "state=started remind_min=%d" % (remind_ms // 60000))
        return None

    def planned_end(self, now, source):
        """The set is back on: resume delivery, report the basal missed."""
        if not self.planned:
            return "not_planned"
        if self._connector_open:
            return "connector_open"  # the quick release is still open: not reconnected
        self.planned = False
        app = self.app
        app.clear_alarm("reconnect", now)
        minutes = ticks_diff(now, self._planned_start) // 60000
        app.log.emit(
            "planned",
            "state=ended src=%s min=%d missed_basal=%d" % (source, minutes, self._missed_mu),
        )
        app.delivery.set_mode(now, "run", "planned_reconnect")
        self.watch.rearm()
        return None

    def _planned_tick(self, now, dt):
        d = self.app.delivery
        rate = d.profile.rate_at(self.app.uptime.time_of_day_ms())  # mU/h the profile asks
        if not 0 < dt <= _MAX_TICK_GAP_MS:
            dt = 0  # the first tick after a boot has no predecessor to measure from
        acc = self._missed_acc + rate * dt  # the basal this tick would have given
        while acc >= _MS_PER_H:
            acc -= _MS_PER_H
            self._missed_mu += 1
        self._missed_acc = acc
        if (
            not self._planned_reminded
            and ticks_diff(now, self._planned_start) >= self._planned_remind
        ):
            self._planned_reminded = True
            self.app.raise_alarm("reconnect", now, "missed_basal=%d" % self._missed_mu)

    def _sensor_changed(self, now):
        fault = self.watch.sensor.fault
        self._sensor = fault
        if fault != OK:
            self.app.raise_alarm("sensor", now, "fault=%s" % FAULT_NAMES[fault])
        else:
            self.app.clear_alarm("sensor", now)

    def _connector_changed(self, now):
        is_open = not self._connector_open
        self._connector_open = is_open
        if self.planned:  # expected: the user opened the quick release on purpose
            if is_open:
                self._planned_opened = True
            elif self._planned_opened:
                self.planned_end(now, "connector")
            return
        if is_open:
            self.app.raise_alarm("disconnect", now, "cause=connector")
            self._latched = True
        else:
            self.app.clear_alarm("disconnect", now)
            self.watch.rearm()

    def _check_line(self, now):
        """A line fault stands or a line alarm is latched (the tick checked that)."""
        watch = self.watch
        occ = watch.occ
        dis = watch.dis
        app = self.app
        alarms = app.alarms
        if occ.occluded and not alarms.standing("occlusion"):
            app.raise_alarm("occlusion", now, "held_pa=%d" % held_pa(watch))
            self._relieve(now)
            self._latched = True
        if not alarms.standing("disconnect"):
            if dis.disconnected:
                app.raise_alarm("disconnect", now, "cause=pressure")
                self._latched = True
            elif dis.leaking:
                app.raise_alarm("disconnect", now, "cause=leak")
                self._latched = True
        # an acknowledged line alarm: the user has seen to the set; re-verify on the next pulses
        latched = False
        for kind in _LINE_KINDS:
            alarm = alarms.find(kind)
            if alarm is not None and alarm.standing:
                if alarm.active or (kind == "disconnect" and self._connector_open):
                    latched = True
                    continue
                app.clear_alarm(kind, now)
                watch.rearm()
        self._latched = latched

    def _relieve(self, now):
        """OCC-2: back the plunger off by the volume the held pressure stands for."""
        steps = relief_steps(self.watch, self.steps_per_pulse)
        if steps <= 0:
            return
        self.board.motor.retract(steps)
        self.relief_steps += steps
        self.app.log.emit("retract", "steps=%d" % steps)
