"""Therapy on the pump: glucose, insulin on board, the calculator and reminders, wired in.

Runs once a second from the app's supervisor task; each bolus pulse reaches
it at once (``delivery.bolus_pulse_hooks``). It keeps its own clock in therapy
seconds: the newest time found on flash at boot, plus the time since boot (a
board has no calendar clock; the time a power cut lasted is not counted, so
insulin on board after a cut errs high). The clock rides in the delivery
journal's state record, which every pulse commits. What must survive a reboot
is journaled in three small rings of CRC-checked slots (pump/journal.RecordRing),
each written only in a step that also logs an event (the quiet control and
supervisor steps allocate nothing, tests/test_memory.py):

- ``iob.jnl``: the doses behind insulin on board (IOB-1), each with the
  running total of bolus insulin it accounts for, written at every bolus
  pulse. At boot that total is compared with the delivery journal's own pulse
  count (written before every pulse): insulin delivered but not yet in a dose
  record is added as a dose at the boot time, so IOB never forgets delivered
  insulin;
- ``bg.jnl``: the glucose readings (BG-1);
- ``clock.jnl``: the set-change time and the pending BG check (REM-1); a
  record is also written for each calculator proposal, before it is logged, and
  its seq is the proposal's id: ids go on across reboots, so an id in the event
  log names one proposal only (CAL-1). (A seq, not a record of its own: no
  more code or RAM at boot.)
"""

from pump import glucose as glucose_mod
from pump import reminders as reminders_mod
from pump import wizard
from pump.actioncurve import ActionCurve
from pump.compat import const, micropython
from pump.glucose import Glucose
from pump.iob import SLOTS as DOSE_SLOTS
from pump.iob import DoseHistory
from pump.journal import RecordRing
from pump.reminders import Reminders
from pump.ticks import ticks_diff

DOSES_NAME = "iob.jnl"
BG_NAME = "bg.jnl"
CLOCK_NAME = "clock.jnl"
ALARM_KINDS = glucose_mod.ALARM_KINDS + reminders_mod.KINDS
_BASAL_EVERY_S = const(60)  # basal above/below schedule joins the doses each minute (and pulse)
FRESH_BG_S = const(600)  # the calculator takes a reading up to 10 min old


class Therapy:
    def __init__(self, app):
        self.app = app
        s = app.settings
        self.curve = ActionCurve(s.dia_min, s.peak_min, s.delay_min)
        self.doses = DoseHistory(self.curve)
        self.glucose = Glucose(s)
        self.reminders = Reminders(s)
        self.now_s = 0
        self._ms = 0  # ms towards the next therapy second
        self._last = None  # ticks of the last tick
        self._seen_bolus = 0  # delivery.bolus_given already counted as doses
        self._basal_acc = 0  # (mU/h)*s above (+) or below (-) the profile, not yet counted
        self._basal_given = -1  # delivery.basal_given at the last flush (-1: not yet seen)
        self._causes = 0  # alarm causes standing, bit i = ALARM_KINDS[i]
        self._iob_at = -1
        self._iob = 0
        self.proposals = 0  # id of the newest proposal (a clock record's seq, see propose)
        self.offered = 0  # id of the proposal waiting for the long press; 0: none
        self._seqs = [0, 0, 0]  # next record seq of the dose, BG and clock rings
        app.delivery.bolus_pulse_hooks.append(self._bolus_pulse)
        self._state = app.journal.state if app.journal is not None else None
        store = app.journal.store if app.journal is not None else None
        self._rings = None
        if store is not None:
            self._rings = (
                RecordRing(store, DOSES_NAME, DOSE_SLOTS, ("dose",)),
                RecordRing(store, BG_NAME, glucose_mod.RING, ("bg",)),
                RecordRing(store, CLOCK_NAME, 2, ("clock",)),
            )

    # -- boot -----------------------------------------------------------------------

    def recover(self):
        """Read the rings back (after the delivery journal is restored) and reconcile."""
        rings = self._rings
        if rings is None:
            return
        latest = 0
        recorded = 0  # bolus mU the dose records account for
        for which in range(3):
            for seq, t, _kind, a, b in rings[which].records():
                self._seqs[which] = seq + 1
                if t > latest:
                    latest = t
                if which == 0:
                    self.doses.load(t, a)
                    recorded = b
                elif which == 1:
                    self.glucose.add(t, a, b)
                else:
                    self.reminders.set_changed_s = a
                    self.reminders.bg_due_s = b
        state = self.app.journal.state  # loaded by now (a fresh one if it was corrupt)
        self._state = state
        if state.clock > latest:
            latest = state.clock
        self.now_s = latest
        given = self.app.delivery.bolus_given
        if self._seqs[0] == 0:
            # first boot with these rings: a zero dose marks how much bolus insulin came
            # before them (not counted); from here on every unit is
            self._seen_bolus = given
            self.doses.load(latest, 0)
            self._seqs[0] = 1
            self._write_dose()
        else:
            self._seen_bolus = recorded if recorded < given else given
            if recorded < given:
                self.app.log.emit("iob", "state=recovered added=%d" % (given - recorded))
                self._add_dose(given - recorded)
        self._write_clock()

    def _bolus_pulse(self, mu):
        """Delivery's hook, in the control step of the pulse (which logs it)."""
        self._add_dose(mu)

    # -- every second ---------------------------------------------------------------

    @micropython.native
    def tick(self, now):
        if self._last is None:  # the first tick: take over the alarms restored at boot
            self._last = now
            for i in range(len(ALARM_KINDS)):
                if self.app.alarms.standing(ALARM_KINDS[i]):
                    self._causes |= 1 << i
        self._ms += ticks_diff(now, self._last)
        self._last = now
        while self._ms >= 1000:
            self._ms -= 1000
            self.now_s += 1
            self._count_basal()
        now_s = self.now_s
        if self._state is not None:
            self._state.clock = now_s  # committed with the next delivery journal write
        d = self.app.delivery
        bolus = d.bolus
        # a prime (DEL-7, ident 0: boluses count from 1) is no dose: no BG check after it
        if self.reminders.bolus_tick(now_s, bolus is not None and bolus.ident != 0):
            self.app.log.emit("reminder", "kind=bg_check state=due_in s=%d" % (
                self.reminders.bg_due_s - now_s))
            self._write_clock()
        causes = self.glucose.causes(now_s) | self.reminders.causes(now_s, d) << 4
        changed = causes ^ self._causes
        if changed:
            self._causes = causes
            for i in range(len(ALARM_KINDS)):
                if changed >> i & 1:
                    if causes >> i & 1:
                        self.app.raise_alarm(ALARM_KINDS[i], now, self._alarm_detail(i))
                    else:
                        self.app.clear_alarm(ALARM_KINDS[i], now)

    def _alarm_detail(self, i):
        if i < 3:
            return "mgdl=%d" % self.glucose.values[self.glucose.latest()]
        if i == 5:
            return "min_left=%d" % reminders_mod.minutes_left(self.app.delivery)
        return ""

    def _count_basal(self):
        """Basal above or below the profile, when the settings count it (off by default):
        added up each second; its whole mU join the doses each minute and in the second after
        each basal pulse, so a power cut loses at most what came since (docs/therapy.md)."""
        app = self.app
        if not app.settings.iob_basal:
            return
        d = app.delivery
        self._basal_acc += d.rate - d.profile.rate_at(app.uptime.time_of_day_ms())
        if self.now_s % _BASAL_EVERY_S == 0 or d.basal_given != self._basal_given:
            self._basal_given = d.basal_given
            mu = self._basal_acc // 3600 if self._basal_acc >= 0 else -(-self._basal_acc // 3600)
            if mu:
                self._basal_acc -= mu * 3600
                self.app.log.emit("iob", "basal=%d" % mu)  # the record written below
                self._add_dose(mu, False)

    def _add_dose(self, mu, bolus=True):
        if bolus:
            self._seen_bolus += mu
        if self.doses.add(self.now_s, mu):
            self._seqs[0] += 1
        self._iob_at = -1
        self._write_dose()

    def _write_dose(self):
        i = self.doses.newest()
        if self._rings is None or i < 0:
            return
        seq = self._seqs[0] - 1
        if seq < 0:
            seq = 0
            self._seqs[0] = 1
        self._rings[0].write(
            seq, self.doses.times[i], "dose", self.doses.amounts[i], self._seen_bolus
        )

    def _write_clock(self):
        if self._rings is None:
            return
        r = self.reminders
        self._seqs[2] = self._rings[2].append(
            self._seqs[2], self.now_s, "clock", r.set_changed_s, r.bg_due_s
        )

    # -- queries and commands --------------------------------------------------------

    def iob(self):
        """mU on board now (cached for the current therapy second)."""
        if self._iob_at != self.now_s:
            self._iob = self.doses.total(self.now_s)
            self._iob_at = self.now_s
        return self._iob

    def add_bg(self, now, mgdl, source):
        """A validated reading (mg/dL, glucose.SOURCES index): ring, journal, event, alarms."""
        g = self.glucose
        g.add(self.now_s, mgdl, source)
        if self._rings is not None:
            self._seqs[1] = self._rings[1].append(self._seqs[1], self.now_s, "bg", mgdl, source)
        if self.reminders.bg_reading():
            self._write_clock()
        self.app.log.emit(
            "bg",
            "mgdl=%d src=%s trend=%s iob=%d"
            % (mgdl, glucose_mod.SOURCES[source], g.trend() or "none", self.iob()),
        )
        self.tick(now)  # alarms follow the reading at once

    def set_changed(self, now):
        self.reminders.set_changed_s = self.now_s
        self._write_clock()
        self.app.log.emit("reminder", "kind=set_change state=reset")
        self.tick(now)

    def propose(self, carbs_g, bg_mgdl):
        """A calculator proposal with the settings in force now (bg 0: the newest reading
        up to FRESH_BG_S old, if any); logged with every part."""
        s = self.app.settings
        if not bg_mgdl:
            bg_mgdl = self.glucose.latest_mgdl(self.now_s, FRESH_BG_S)
        minute = self.app.uptime.time_of_day_ms() // 60000
        p = wizard.propose(
            carbs_g, bg_mgdl, wizard.segment_at(s.carb_ratio, minute),
            wizard.segment_at(s.isf, minute), s.target_low, s.target_high, self.iob(),
            s.wizard_step, s.max_bolus, s.min_bg_calc,
        )  # fmt: skip
        self.proposals += 1
        if self._rings is not None:  # the id: the seq of a clock record, written before the event
            self._write_clock()
            self.proposals = self._seqs[2] - 1
        self.app.log.emit(
            "wizard", "state=proposed id=%d %s" % (self.proposals, wizard.describe(p))
        )
        return p

    def offer(self, now, p, source):
        """Offer proposal ``p`` on the pump (the user confirms with the long press):
        None if offered, else the reason."""
        if p.refused:
            return p.reason
        if p.suggested <= 0:
            return "nothing_to_give"
        reason = self.app.button.offer(now, p.suggested, 0, "wizard", source == "button")
        if reason is None:
            self.offered = self.proposals
        return reason

    def offer_ended(self, amount, accepted):
        """The button's answer to an offered proposal: accepted with the long press, or not."""
        ident = self.offered
        if not ident:
            return
        self.offered = 0  # a proposal is accepted at most once
        self.app.log.emit(
            "wizard",
            "state=%s id=%d amount=%d" % ("accepted" if accepted else "lapsed", ident, amount),
        )
