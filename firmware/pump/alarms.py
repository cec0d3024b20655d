"""Alarms (ALM-1): priorities, escalation, acknowledge and re-arm.

An alarm has a cause that stands or has cleared, and an annunciation that is
active or silenced. Acknowledging silences it but never clears a standing
cause; a silenced alarm whose cause still stands re-arms after REARM_MS. An
unacknowledged alarm escalates (louder, then repeated) every ESCALATE_MS of
its priority. A high-priority alarm blocks delivery (DEL-5) until its cause
has cleared and it has been acknowledged: once acknowledged, a re-arm while the
cause stood does not make it block again after the cause clears (it goes on
sounding until acknowledged, but insulin resumes, as it does when the cause
clears before the re-arm: a sleeping user is not left without insulin by a
cause already seen and gone). Records live in a list, not a dict, so the order
of events is the same on every interpreter.
"""

from pump.compat import const
from pump.ticks import ticks_diff

HIGH = const(3)
MEDIUM = const(2)
LOW = const(1)
PRIORITY_NAMES = ("none", "low", "medium", "high")

REARM_MS = const(120000)
MAX_LEVEL = const(3)
# ms before an unacknowledged alarm escalates one level, by priority
ESCALATE_MS = (0, 900000, 300000, 60000)

# kind -> priority; kinds not listed here are refused (a typo must not go quiet)
KINDS = {
    "occlusion": HIGH,
    "disconnect": HIGH,
    "sensor": HIGH,
    "reservoir_empty": HIGH,
    "battery_empty": HIGH,
    "watchdog": HIGH,
    "settings": HIGH,
    "battery_low": MEDIUM,
    "limit": MEDIUM,
    "reconnect": MEDIUM,
    "temp_lost": MEDIUM,
    "reservoir_low": LOW,
    "journal": HIGH,
    # glucose (BG-1, pump/glucose.py): an urgent low holds insulin like any high alarm
    "bg_urgent_low": HIGH,
    "bg_low": MEDIUM,
    "cgm_stale": MEDIUM,
    "bg_high": LOW,
    # reminders (REM-1, pump/reminders.py)
    "set_change": LOW,
    "reservoir_time": LOW,
    "bg_check": LOW,
}
# bit positions of the standing-alarm mask kept in the journal (append only: it is on flash)
JOURNAL_BITS = (
    "occlusion", "disconnect", "sensor", "reservoir_empty", "battery_empty", "watchdog",
    "settings", "battery_low", "limit", "reconnect", "reservoir_low", "journal", "temp_lost",
    "bg_low", "bg_urgent_low", "bg_high", "cgm_stale", "set_change", "reservoir_time", "bg_check",
)  # fmt: skip


class Alarm:
    def __init__(self, kind, priority, now):
        self.kind = kind
        self.priority = priority
        self.standing = True
        self.active = True  # annunciating (not silenced)
        self.acked = False  # acknowledged at least once since it was raised
        self.level = 0
        self.since = now  # ticks of the last raise/escalate/ack, for the timers


class Alarms:
    def __init__(self, log):
        self.log = log
        self.records = []

    def find(self, kind):
        for alarm in self.records:
            if alarm.kind == kind:
                return alarm
        return None

    def raise_(self, kind, now, detail=""):
        priority = KINDS[kind]
        alarm = self.find(kind)
        if alarm is not None and alarm.standing:
            return alarm
        if alarm is None:
            alarm = Alarm(kind, priority, now)
            self.records.append(alarm)
        else:
            alarm.standing = True
            alarm.active = True
            alarm.acked = False  # a new occurrence: it must be acknowledged again
            alarm.since = now
        self.log.emit(
            "alarm",
            "kind=%s prio=%s state=raised%s"
            % (kind, PRIORITY_NAMES[priority], " " + detail if detail else ""),
        )
        return alarm

    def clear(self, kind, now):
        """The cause has gone. The record stays until acknowledged if still annunciating."""
        alarm = self.find(kind)
        if alarm is None or not alarm.standing:
            return
        alarm.standing = False
        self.log.emit("alarm", "kind=%s state=cleared" % kind)
        if not alarm.active:
            self.records.remove(alarm)

    def ack(self, kind, now):
        """Silence ``kind`` (or the most urgent active alarm if kind is None). True if one was."""
        alarm = self.find(kind) if kind else self.most_urgent()
        if alarm is None or not alarm.active:
            return False
        alarm.active = False
        alarm.acked = True
        alarm.since = now
        self.log.emit("alarm", "kind=%s state=acked" % alarm.kind)
        if not alarm.standing:
            self.records.remove(alarm)
        return True

    def most_urgent(self):
        best = None
        for alarm in self.records:
            if alarm.active and (best is None or alarm.priority > best.priority):
                best = alarm
        return best

    def blocks_delivery(self):
        """DEL-5: a high-priority alarm whose cause stands, or that has not been acknowledged."""
        for alarm in self.records:
            if alarm.priority == HIGH and (alarm.standing or not alarm.acked):
                return True
        return False

    def standing_mask(self):
        mask = 0
        for alarm in self.records:
            if alarm.standing and alarm.kind in JOURNAL_BITS:
                mask |= 1 << JOURNAL_BITS.index(alarm.kind)
        return mask

    def standing(self, kind):
        alarm = self.find(kind)
        return alarm is not None and alarm.standing

    def tick(self, now):
        """Escalate unacknowledged alarms and re-arm silenced ones whose cause stands."""
        for alarm in self.records:
            age = ticks_diff(now, alarm.since)
            if alarm.active:
                if alarm.level < MAX_LEVEL and age >= ESCALATE_MS[alarm.priority]:
                    alarm.level += 1
                    alarm.since = now
                    self.log.emit(
                        "alarm", "kind=%s state=escalated level=%d" % (alarm.kind, alarm.level)
                    )
            elif alarm.standing and age >= REARM_MS:
                alarm.active = True
                alarm.since = now
                self.log.emit("alarm", "kind=%s state=rearmed" % alarm.kind)
