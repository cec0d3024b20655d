"""A virtual patient wearing the pump: the firmware and the patient stepped together.

Every virtual minute: the host applies what is due (a fault, the user's fix, a meal and its
bolus, a CGM reading every 5 min), runs the firmware for one minute on the emulated board,
and moves the insulin the infusion-line plant let through into the patient's subcutaneous
depot (none while occluded or disconnected, part of it through a leak). The firmware's
alarms come back as events; the simulated user acts on them after a response time.

Detection arms (``detection``):
- ``firmware``: this firmware's own line alarms; the user fixes the line after the response;
- ``commercial``: line supervision off; an occlusion alarm once 3 U have been pushed into the
  blocked line (the anchors' ~3 h at 1 U/h, scaled by rate); no disconnect or leak alarm;
- ``none``: line supervision off; the fault lasts until the next set change.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace

from pumpctl.patient import therapy
from pumpctl.patient.cgm import CGM
from pumpctl.patient.link import connect
from pumpctl.patient.model import PatientModel
from pumpctl.patient.params import Patient, sensors
from pumpctl.patient.spec import LEAK_PCT, Fault, Meal

DETECTIONS = ("firmware", "commercial", "none")
CGM_EVERY_MIN = 5
SENSOR = "GuardianRT"  # simglucose's 5-minute sensor: the pump's CGM stream period
COMMERCIAL_OCCLUSION_NL = 30000  # 3 U at U-100 (10 nL per mU)
NL_PER_U = 10000
LINE_ALARMS = ("occlusion", "disconnect")


@dataclass
class Config:
    patient: Patient
    minutes: int
    meals: list[Meal]
    faults: list[Fault] = field(default_factory=list)
    seed: int = 1
    response_min: int = 15
    detection: str = "firmware"
    set_change_min: int | None = None  # when the set is changed anyway (arms without alarms)
    interpreter: str = "inprocess"
    commands: list[tuple[int, dict]] = field(default_factory=list)  # (minute, pump command)
    start_tod: int = 0  # minute of the day the run starts at (the patient at steady state)


@dataclass
class Result:
    config: Config
    glucose: list[float]  # true subcutaneous glucose at each minute 0..minutes
    cgm: list[tuple[int, float]]  # (minute, reading) sent to the pump
    insulin_u: list[float]  # insulin reaching the tissue in each minute
    delivered_u: float
    spilled_u: float
    events: list[str]  # the firmware's event log
    actions: list[tuple[int, str]]  # what the host did, by minute
    fixed: dict[int, int] = field(default_factory=dict)  # fault onset -> minute fixed

    def glucose_every(self, step_min: int) -> list[float]:
        return self.glucose[::step_min]

    def to_bytes(self) -> bytes:
        """Everything the run produced (floats as exact reprs): equal runs, equal bytes."""
        lines = [" ".join(repr(g) for g in self.glucose),
                 " ".join(f"{m}:{v!r}" for m, v in self.cgm),
                 " ".join(repr(u) for u in self.insulin_u),
                 *self.events, *(f"{m} {note}" for m, note in self.actions)]
        return "\n".join(lines).encode()


class Simulation:
    def __init__(self, config: Config):
        if config.detection not in DETECTIONS:
            raise ValueError(f"detection must be one of {DETECTIONS}")
        self.c = config
        self.patient = PatientModel(config.patient)
        self.sensor = CGM(sensors()[SENSOR], config.seed)
        self.link = connect(therapy.scenario(config), config.interpreter)
        self.events: list[str] = []
        self.actions: list[tuple[int, str]] = []
        self.due: dict[int, list[tuple[str, object]]] = {}  # minute -> [(what, arg)]
        self.active: dict[str, int] = {}  # line fault kind -> onset minute
        self.fixed: dict[int, int] = {}
        self.alarms_pending: set[str] = set()
        self.delivered = 0
        self.spilled = 0
        self.pushed = 0
        self.pushed_at_onset = 0
        self.offered = False
        self.meal_unbolused: tuple[int, float] | None = None  # (minute, g) the pump refused
        self.bolus_stopped: tuple[int, int] | None = None  # (minute, mU not given) by an alarm
        self.commercial_armed = False
        self.minute = 0
        self.glucose = [self.patient.glucose]
        self.cgm: list[tuple[int, float]] = []
        self.insulin: list[float] = []
        for meal in config.meals:
            self._at(meal.at_min, "meal", meal.carbs_g)
        for fault in config.faults:
            self._at(fault.at_min, "fault", fault.kind)
        if config.set_change_min is not None:
            self._at(config.set_change_min, "set_change", None)
        for minute, command in config.commands:
            self._at(minute, "command", command)
        if config.detection != "firmware":
            self._send("nodetect")

    def _at(self, minute: int, what: str, arg: object) -> None:
        self.due.setdefault(minute, []).append((what, arg))

    def _send(self, line: str):
        reply = self.link.request(line)
        self.events += reply.events
        for ev in reply.events:
            self._watch(ev)
        self.delivered, self.spilled, self.pushed = (
            reply.delivered_nl, reply.spilled_nl, reply.pushed_nl)
        return reply

    def do(self, minute: int, action: dict, note: str | None) -> list[str]:
        """Apply ``action`` on the pump now; ``note`` (if any) goes in the timeline; returns
        the events it caused. ``offered`` tells whether it put a bolus on offer (for the
        user to confirm)."""
        if note is not None:
            self.actions.append((minute, note))
        reply = self._send("do " + json.dumps(action, sort_keys=True))
        self.offered = any(" button state=offered " in ev for ev in reply.events)
        return reply.events

    # --- the user ------------------------------------------------------------------
    def _watch(self, line: str) -> None:
        """An alarm that sounds (raised, or re-armed after an acknowledgement while its cause
        stands): the user acts on it after the response time. A high-priority alarm never
        acknowledged holds insulin until it is, even after its cause has gone (DEL-5)."""
        fields = line.split()
        if len(fields) < 3 or fields[1] not in ("alarm", "bolus"):
            return
        kv = dict(f.split("=", 1) for f in fields[2:] if "=" in f)
        if fields[1] == "bolus":
            if kv.get("state") == "ended" and kv.get("reason") == "alarm":
                # the pump shows how much of the bolus it gave before the alarm stopped it
                rest = int(kv["amount"]) - int(kv["delivered"])
                self.bolus_stopped = (int(fields[0]) // 60000, rest) if rest > 0 else None
            return
        if kv.get("state") not in ("raised", "rearmed"):
            return
        kind = kv.get("kind", "")
        if kind in self.alarms_pending:
            return
        self.alarms_pending.add(kind)
        minute = int(fields[0]) // 60000 + 1 + self.c.response_min
        self._at(minute, "respond", kind)

    def _fix_line(self, minute: int, why: str, alarm: str | None = None) -> None:
        """A set change: the old set comes off (what the line held spills, none of it reaches
        the patient), a new one is on a minute later, then the ``alarm`` is acknowledged."""
        for onset in self.active.values():
            self.fixed[onset] = minute
        self.active.clear()
        self.do(minute, {"fault": "disconnect"}, f"{why}: the user takes the set off")
        self._at(minute + 1, "new_set", alarm)

    def _meal_again(self, minute: int, line_fixed: bool = False) -> None:
        """An alarm dealt with: a meal bolus the pump refused meanwhile is asked for again a
        minute later (the pump clears an acknowledged alarm at its next check); after a set
        change for a line alarm, so is the rest of a bolus that alarm stopped."""
        if self.meal_unbolused is not None:
            self._at(minute + 1, "late_meal", None)
        if line_fixed and self.bolus_stopped is not None:
            self._at(minute + 1, "rest_of_bolus", None)

    def _apply(self, minute: int, what: str, arg) -> float:
        """One due item; returns the carbohydrate announced (g)."""
        if what == "meal":
            therapy.meal_bolus(self, minute, float(arg))
            return float(arg)
        if what == "fault":
            kind = str(arg)
            action = {"fault": kind}
            if kind == "leak":
                action["pct"] = LEAK_PCT
            self.do(minute, action, f"fault: {kind}")
            self.active[kind] = minute
            self.pushed_at_onset = self.pushed
        elif what == "respond":
            kind = str(arg)
            self.alarms_pending.discard(kind)
            if kind in LINE_ALARMS and self.active:
                self._fix_line(minute, f"{kind} alarm", alarm=kind)
            else:
                self.do(minute, {"command": "ack", "args": {"kind": kind}}, f"ack {kind}")
                self._meal_again(minute)
        elif what == "commercial_alarm":
            if self.active:
                self._fix_line(minute, "commercial occlusion alarm")
        elif what == "new_set":
            self.do(minute, {"fault": "reconnect"}, "a new set is on")
            therapy.set_changed(self, minute)
            if arg is not None:
                self.do(minute, {"command": "ack", "args": {"kind": arg}}, f"ack {arg}")
            self._meal_again(minute, line_fixed=True)
        elif what == "late_meal":
            therapy.late_meal_bolus(self, minute)
        elif what == "rest_of_bolus":
            therapy.rest_of_bolus(self, minute)
        elif what == "command":
            self.do(minute, arg, f"pump command {arg['command']}")
        elif what == "set_change":
            if self.active:
                self._fix_line(minute, "planned set change")
        return 0.0

    def run(self, progress=None) -> Result:
        """Run to the end; ``progress(minute)`` is called every simulated hour."""
        self.advance(self.c.minutes, progress)
        return self.finish()

    def fork(self, detection: str, set_change_min: int | None = None) -> Simulation:
        """A copy from here on with another detection arm (in-process link only): the arms of
        one fault share everything before its onset."""
        twin = copy.deepcopy(self)
        twin.c = replace(self.c, detection=detection, set_change_min=set_change_min)
        if detection != "firmware" and self.c.detection == "firmware":
            twin._send("nodetect")
        if set_change_min is not None:
            twin._at(max(set_change_min, twin.minute), "set_change", None)
        return twin

    def advance(self, until: int, progress=None) -> None:
        """Run minute by minute up to minute ``until``."""
        c = self.c
        while self.minute < until:
            minute = self.minute
            if progress is not None and minute % 60 == 0:
                progress(minute)
            if minute % CGM_EVERY_MIN == 0:
                reading = self.sensor.measure(minute, self.patient.glucose)
                self.cgm.append((minute, reading))
                therapy.send_cgm(self, minute, reading)
            carbs = 0.0
            for what, arg in self.due.pop(minute, []):
                carbs += self._apply(minute, what, arg)
            before = self.delivered
            self._send(f"run {(minute + 1) * 60000}")
            if (c.detection == "commercial" and "occlusion" in self.active
                    and not self.commercial_armed
                    and self.pushed - self.pushed_at_onset >= COMMERCIAL_OCCLUSION_NL):
                self.commercial_armed = True
                self._at(minute + 1 + c.response_min, "commercial_alarm", None)
            if not self.active:
                self.commercial_armed = False
            units = (self.delivered - before) / NL_PER_U
            self.insulin.append(units)
            self.patient.step(carbs, units)
            self.glucose.append(self.patient.glucose)
            self.minute += 1

    def finish(self) -> Result:
        self._send("end")
        self.link.close()
        return Result(self.c, self.glucose, self.cgm, self.insulin, self.delivered / NL_PER_U,
                      self.spilled / NL_PER_U, self.events, self.actions, self.fixed)


@dataclass
class FaultOutcome:
    kind: str
    onset_min: int
    alarm_min: int | None  # the firmware's first line alarm after the onset
    fixed_min: int | None
    hours_above_250: float  # from the onset to the end of the run
    peak: float


def fault_outcomes(result: Result) -> list[FaultOutcome]:
    out = []
    for fault in sorted(result.config.faults, key=lambda f: f.at_min):
        onset = fault.at_min
        alarm = None
        for ev in result.events:
            fields = ev.split()
            if (len(fields) > 3 and fields[1] == "alarm" and "state=raised" in fields
                    and fields[2].split("=")[-1] in LINE_ALARMS
                    and int(fields[0]) >= onset * 60000):
                alarm = int(fields[0]) // 60000
                break
        after = result.glucose[onset:]
        out.append(FaultOutcome(fault.kind, onset, alarm, result.fixed.get(onset),
                                sum(1 for g in after if g > 250) / 60.0, max(after)))
    return out
