"""Insulin delivery: basal, temporary basal, boluses, suspend, reservoir (DEL-1..DEL-6).

Accounting is integer. The basal error term ``_acc`` is programmed minus
delivered insulin in mU*ms/h (rate in mU/h times ms), so integrating a rate
never rounds. A basal pulse fires when the term reaches half a pulse, which
keeps |delivered - programmed| within half a pulse plus one 100 ms tick of
rate (< 1 pulse at any rate up to 30 U/h), at every instant.

Rates change only at breakpoints (profile segment edges, temp basal end,
commands, alarms); ``settle`` integrates up to each breakpoint exactly, so the
100 ms control tick does not smear a change across a tick.

Boluses are separate pulse trains (see bolus.py): a bolus never changes basal.
A prime (DEL-7: the cannula fill after a set change) is a short train at the
bolus speed in the same slot, so it is stopped, cancelled and refused as a
bolus is; its pulses are counted as priming (``prime_given``), not as
delivered insulin, and never reach insulin on board.
"""

from pump.bolus import EXTENDED, NORMAL, PRIME, Bolus, bolus_period_ms
from pump.compat import const, micropython
from pump.limits import RollingTotals, check_bolus, check_rate, check_totals
from pump.settings import save_profile
from pump.ticks import ticks_diff
from pump.units import MS_PER_H
from pump.uptime import DAY_MS as _DAY_MS

RUN = "run"
SUSPENDED = "suspended"
MAINTENANCE = "maintenance"
MODES = (RUN, SUSPENDED, MAINTENANCE)  # journal encoding: append only

_MINUTE_MS = const(60000)
_HALF = const(0x20000000)  # pump.ticks
_MASK = const(0x3FFFFFFF)
MIN_EXTENDED_MS = const(15 * 60000)
MAX_EXTENDED_MS = const(8 * 3600000)
MIN_TEMP_MS = const(15 * 60000)
MAX_TEMP_MS = const(24 * 3600000)
MAX_TEMP_PERCENT = const(200)


class Delivery:
    def __init__(self, settings, profile, motor, alarms, log, uptime):
        self.settings = settings
        self.profile = profile
        self.motor = motor
        self.alarms = alarms
        self.log = log
        self.uptime = uptime
        self.mode = RUN
        self.rate = 0  # effective basal rate now, mU/h
        self.rate_src = "off"
        self._src = "off"
        self.temp_rate = 0  # absolute temp rate (mU/h) when temp_percent < 0
        self.temp_percent = -1  # percent of profile, or -1 for an absolute temp
        self.temp_left = 0  # ms left of the temp basal; 0 = none
        self.bolus = None
        self.bolus_count = 0
        self.reservoir = settings.reservoir  # mU left
        self.basal_given = 0  # mU delivered as basal since boot
        self.bolus_given = 0  # mU delivered as bolus since boot
        self.prime_given = 0  # mU pushed to prime a set since boot (DEL-7: not delivered)
        # DEL-7: a set change was recorded since the last prime (or boot), so a prime may
        # start; a prime into a cannula already in the body is insulin IOB does not count
        self.set_new = False
        self.pushed = 0  # mU the motor pushed since boot, every kind (the line task counts it)
        self.totals = RollingTotals()
        self._acc = 0
        self._quantum = settings.pulse * MS_PER_H
        self._half = self._quantum // 2
        self._last = 0  # ticks up to which everything is settled
        self._tod = 0  # time of day at _last
        self._minute = 0  # ms into the current rolling-totals minute
        self._low_sent = False
        # The first instant a control tick has more to do than integrate the rate (set by
        # ``_plan``): until then (no pulse due, no profile, minute or temp-basal edge, no bolus
        # running) the tick leaves the span to the next settle, which integrates it at once to
        # the same ints (the rate is constant over it). The app's control tick reads it with
        # ``bolus`` and calls ``settle`` only past it (pump/app.py: a call would cost more than
        # the check). Every other caller settles in full before it reads or changes the state,
        # and every change of what the wake depends on is followed by ``_retarget`` or a
        # settle, which plan it again.
        self.wake = 0
        self.journal = None  # pump.journal.Journal when the board has durable storage
        self.bolus_pulse_hooks = []  # callables(mU) after each bolus pulse

    # -- time ---------------------------------------------------------------

    def start(self, now):
        self._last = now
        self._tod = self.uptime.time_of_day_ms()
        self._check_reservoir()  # an empty reservoir at boot must alarm before anything runs
        self._retarget(now)

    def _plan(self):
        """``wake``: the first instant a tick has more to do than integrate the rate."""
        ahead = _MINUTE_MS - self._minute  # the rolling totals' minute ends
        seg = self.profile.seg_end - self._tod  # the profile segment ends
        if seg < ahead:
            ahead = seg
        temp_left = self.temp_left
        if temp_left and temp_left < ahead:
            ahead = temp_left  # the temp basal ends
        rate = self.rate
        if rate > 0:
            due = (self._half - self._acc + rate - 1) // rate  # the basal pulse is due
            if due < ahead:
                ahead = due
        self.wake = (self._last + ahead) & _MASK

    @micropython.native
    def settle(self, now):
        """Integrate the basal rate and run the bolus train up to ``now``; deliver what is due."""
        dt = ((now - self._last + _HALF) & _MASK) - _HALF  # ticks_diff, inlined: every tick
        if dt <= 0:
            return
        self._last = now
        tod = self._tod + dt
        minute = self._minute + dt
        temp_left = self.temp_left
        if tod < self.profile.seg_end and minute < _MINUTE_MS and (not temp_left or temp_left > dt):
            # the common tick: no breakpoint inside it
            self._acc += self.rate * dt
            self._tod = tod
            self._minute = minute
            if temp_left:
                self.temp_left = temp_left - dt
            dt = 0
        while dt > 0:
            step = dt
            edge = self.profile.edge_after(self._tod) - self._tod
            at_edge = edge <= step
            if at_edge:
                step = edge
            temp_ends = 0 < self.temp_left <= step
            if temp_ends:
                step = self.temp_left
            self._acc += self.rate * step
            dt -= step
            self._advance(step)
            if temp_ends:
                self.temp_left = 0
                self.log.emit_at(self._event_ms(dt), "temp", "state=ended")
                self.persist()
            if at_edge or temp_ends:
                self._retarget(now, dt)
        if self._acc >= self._half:
            self._deliver_basal()
        bolus = self.bolus
        if bolus is not None:
            self._deliver_bolus(bolus, ticks_diff(now, bolus.last))
            bolus.last = now
        self._plan()

    def _advance(self, step):
        if self.temp_left:
            self.temp_left -= step
        tod = self._tod + step
        if tod >= _DAY_MS:
            tod -= _DAY_MS
        self._tod = tod
        minute = self._minute + step
        while minute >= _MINUTE_MS:
            minute -= _MINUTE_MS
            self.totals.next_minute()
        self._minute = minute

    def _event_ms(self, behind):
        return self.uptime.now_ms() - behind

    # -- rate -----------------------------------------------------------------

    def _target(self):
        """The rate that should run now; its source goes to ``_src`` (no tuple: no allocation)."""
        if self.mode != RUN:
            self._src = self.mode
            return 0
        if self.alarms.blocks_delivery():
            self._src = "alarm"
            return 0
        if self.reservoir < self.settings.pulse:
            self._src = "empty"
            return 0
        base = self.profile.rate_at(self._tod)
        if self.temp_left:
            self._src = "temp"
            if self.temp_percent < 0:
                return self.temp_rate
            return base * self.temp_percent // 100
        self._src = "profile"
        return base

    def _retarget(self, now, behind=0):
        rate = self._target()
        src = self._src
        if rate != self.rate or src != self.rate_src:
            self.rate = rate
            self.rate_src = src
            self.log.emit_at(self._event_ms(behind), "basal", "rate=%d src=%s" % (rate, src))
            self._report_reservoir(behind)
        self._plan()  # the rate, temp basal or profile may have changed

    def refresh(self, now):
        """Settle, then apply a change of mode, alarm or settings from ``now`` on."""
        self.settle(now)
        self._retarget(now)
        if self.bolus is not None and (self.mode != RUN or self.alarms.blocks_delivery()):
            self.end_bolus("alarm" if self.mode == RUN else self.mode)

    # -- pulses -----------------------------------------------------------------

    def _refusal(self, source):
        """Why the next pulse may not be given (None: it may): empty, or over a limit (DEL-4)."""
        s = self.settings
        totals = self.totals
        if self.reservoir < s.pulse:
            return "empty"
        if totals.hour + s.pulse > s.max_hour or totals.day + s.pulse > s.max_day:
            self.log.emit("limit", "src=%s hour=%d day=%d" % (source, totals.hour, totals.day))
            if not self.alarms.standing("limit"):
                self.alarms.raise_("limit", self._last, "src=%s" % source)  # never silent
            return "limit"
        if self.alarms.standing("limit"):
            self.alarms.clear("limit", self._last)  # pulses are allowed again
        return None

    def _pulse(self, source):
        """Deliver one pulse the caller has already counted: journal first, then the motor."""
        pulse = self.settings.pulse
        self.reservoir -= pulse
        self.pushed += pulse
        self.totals.add(pulse)  # a prime too: DEL-4 bounds what the motor pushes into a set
        self.persist()  # write-ahead: a cut from here on can only under-deliver
        self.motor.pulse()
        self.log.emit(
            "pulse",
            "src=%s total=%d res=%d"
            % (source, self.basal_given + self.bolus_given, self.reservoir),
        )
        self._check_reservoir()

    def _deliver_basal(self):
        while self._acc >= self._half:
            self._acc -= self._quantum
            if self._refusal("basal") is None:
                self.basal_given += self.settings.pulse
                self._pulse("basal")

    def _deliver_bolus(self, bolus, dt):
        n = bolus.due(dt)
        while n:
            n -= 1
            reason = self._refusal(PRIME if bolus.kind == PRIME else "bolus")
            if reason is not None:
                self.end_bolus(reason)
                return
            bolus.given += 1
            if bolus.kind == PRIME:  # priming the set, not insulin for the patient (DEL-7)
                self.prime_given += self.settings.pulse
                self._pulse(PRIME)
                continue
            self.bolus_given += self.settings.pulse
            self._pulse("bolus")
            for hook in self.bolus_pulse_hooks:  # insulin on board (pump/therapy.py)
                hook(self.settings.pulse)
        if bolus.done():
            self.end_bolus("done")

    # -- durability (REL-1) ----------------------------------------------------

    def persist(self):
        """Commit the durable state to the journal (no-op without storage)."""
        journal = self.journal
        if journal is None:
            return
        st = journal.state
        pulse = self.settings.pulse
        st.basal_pulses = self.basal_given // pulse
        st.bolus_pulses = self.bolus_given // pulse
        st.reservoir = self.reservoir
        st.bolus_id = self.bolus_count
        bolus = self.bolus
        if bolus is not None and bolus.kind == PRIME:
            bolus = None  # a prime cut short is over (never resumed): the reservoir has it
        st.bolus_active = 0 if bolus is None else 1
        st.bolus_amount = 0 if bolus is None else bolus.amount
        st.bolus_given = 0 if bolus is None else bolus.given * pulse
        st.mode = MODES.index(self.mode)
        st.alarms = self.alarms.standing_mask()
        st.hour = self.totals.hour
        st.day = self.totals.day
        st.temp = 1 if self.temp_left else 0
        journal.commit()

    def restore(self, st):
        """Take over the journal's state at boot. A bolus or temp basal cut short is ended,
        never resumed: the user is told (the app raises ``temp_lost``) and decides again.

        The basal accumulator (the part of a pulse programmed but not yet due) is not on
        flash: each reboot restarts it, which shifts the basal by under half a pulse."""
        pulse = self.settings.pulse
        self.basal_given = st.basal_pulses * pulse
        self.bolus_given = st.bolus_pulses * pulse
        self.pushed = self.basal_given + self.bolus_given
        self.reservoir = st.reservoir
        self.bolus_count = st.bolus_id
        self.mode = MODES[st.mode]
        self.totals.seed(st.hour, st.day)  # the limits must not reset with a reboot (DEL-4)
        self.log.emit(
            "restore",
            "delivered=%d basal=%d bolus=%d reservoir=%d mode=%s boots=%d"
            % (self.basal_given + self.bolus_given, self.basal_given, self.bolus_given,
               self.reservoir, self.mode, st.boots),
        )  # fmt: skip
        if st.bolus_active:
            self.log.emit(
                "bolus",
                "state=ended id=%d delivered=%d amount=%d reason=power_loss"
                % (st.bolus_id, st.bolus_given, st.bolus_amount),
            )
        if st.temp:
            self.log.emit("temp", "state=ended reason=power_loss")

    # -- reservoir --------------------------------------------------------------

    def minutes_left(self):
        """Minutes of insulin left at the current basal rate (-1: no basal running)."""
        if self.rate <= 0:
            return -1
        return self.reservoir * 60 // self.rate

    def _report_reservoir(self, behind=0):
        self.log.emit_at(
            self._event_ms(behind),
            "reservoir",
            "left=%d min_left=%d" % (self.reservoir, self.minutes_left()),
        )

    def _check_reservoir(self):
        s = self.settings
        if self.reservoir < s.pulse:
            if not self.alarms.standing("reservoir_empty"):
                self.alarms.raise_("reservoir_empty", self._last)
                self._retarget(self._last)
                self.persist()
            return
        mins = self.minutes_left()
        low = self.reservoir <= s.low_reservoir or 0 <= mins < s.low_reservoir_h * 60
        if low and not self._low_sent:
            self._low_sent = True
            self.alarms.raise_(
                "reservoir_low", self._last, "left=%d min_left=%d" % (self.reservoir, mins)
            )

    # -- requests (each returns None when accepted, else the reason) -------------

    def can_bolus(self):
        if self.mode != RUN:
            return self.mode
        if self.alarms.blocks_delivery():
            return "alarm"
        if self.bolus is not None:
            return "bolus_running"
        return None

    def bolus_problem(self, amount, duration_ms):
        """Why a bolus of ``amount`` mU over ``duration_ms`` would be refused now, or None."""
        reason = self.can_bolus() or check_bolus(self.settings, self.totals, amount)
        if reason is None and amount > self.reservoir:
            reason = "reservoir"
        if reason is None and duration_ms and not MIN_EXTENDED_MS <= duration_ms <= MAX_EXTENDED_MS:
            reason = "extended_duration"
        return reason

    def request_bolus(self, now, amount, duration_ms, source):
        """Start a normal (duration_ms 0) or extended bolus of ``amount`` mU."""
        reason = self.bolus_problem(amount, duration_ms)
        if reason is not None:
            return self._refuse("bolus", amount, source, reason)
        self.settle(now)
        s = self.settings
        kind = EXTENDED if duration_ms else NORMAL
        if not duration_ms:
            duration_ms = self._train_ms(amount)
        self.bolus_count += 1
        bolus = Bolus(self.bolus_count, amount, s.pulse, duration_ms, kind, source)
        bolus.last = now
        self.bolus = bolus
        self.persist()
        self.log.emit(
            "bolus",
            "state=started id=%d kind=%s amount=%d duration=%d src=%s"
            % (bolus.ident, kind, amount, duration_ms, source),
        )
        self._deliver_bolus(bolus, 0)
        return None

    def _refuse(self, what, amount, source, reason):
        self.log.emit(
            "refused", "what=%s amount=%d src=%s reason=%s" % (what, amount, source, reason)
        )
        return reason

    def bolus_period(self):
        """ms between a bolus's (or prime's) pulses: the pulse over the bolus speed setting,
        no faster than the motor can push (pump.bolus.bolus_period_ms)."""
        s = self.settings
        return bolus_period_ms(s.pulse * _MINUTE_MS // s.bolus_per_min, self.motor.push_ms)

    def _train_ms(self, amount):
        """How long ``amount`` mU takes at the bolus period, in whole pulses."""
        return (amount // self.settings.pulse) * self.bolus_period()

    def set_changed(self):
        """A new set is on (DEL-7): its cannula may be primed, once."""
        self.set_new = True

    def prime_problem(self, amount):
        """Why a prime of ``amount`` mU would be refused now, or None. Once per set change
        (``no_set_change``): not kept across a reboot, so after one the set change is
        recorded again before a prime (the pump cannot tell whether the cannula is in)."""
        reason = self.can_bolus()
        if reason is None and not self.set_new:
            reason = "no_set_change"
        if reason is None and (amount <= 0 or amount % self.settings.pulse):
            reason = "not_whole_pulses"
        if reason is None and amount > self.reservoir:
            reason = "reservoir"
        if reason is None:
            reason = check_totals(self.settings, self.totals, amount)
        return reason

    def request_prime(self, now, amount, source):
        """DEL-7: fill the cannula of a new set with ``amount`` mU, in pulses at the bolus
        speed (the line detectors learn the new site's open response from them)."""
        reason = self.prime_problem(amount)
        if reason is not None:
            return self._refuse("prime", amount, source, reason)
        self.set_new = False  # the next prime needs another set change
        self.settle(now)
        s = self.settings
        duration_ms = self._train_ms(amount)
        prime = Bolus(0, amount, s.pulse, duration_ms, PRIME, source)
        prime.last = now
        self.bolus = prime
        self.log.emit(
            "prime", "state=started amount=%d duration=%d src=%s" % (amount, duration_ms, source)
        )
        self._deliver_bolus(prime, 0)
        return None

    def end_bolus(self, reason):
        bolus = self.bolus
        if bolus is None:
            return False
        self.bolus = None
        if bolus.kind == PRIME:
            self.log.emit(
                "prime",
                "state=ended delivered=%d amount=%d reason=%s"
                % (bolus.delivered(), bolus.amount, reason),
            )
            self._report_reservoir()
            return True
        self.persist()
        self.log.emit(
            "bolus",
            "state=ended id=%d delivered=%d amount=%d reason=%s"
            % (bolus.ident, bolus.delivered(), bolus.amount, reason),
        )
        self._report_reservoir()
        return True

    def cancel_bolus(self, now, source):
        self.settle(now)
        if self.end_bolus("cancel_" + source):
            return None
        return "no_bolus"

    def set_temp(self, now, rate, percent, duration_ms):
        """Temporary basal: absolute ``rate`` mU/h, or ``percent`` of the profile (rate -1)."""
        if not MIN_TEMP_MS <= duration_ms <= MAX_TEMP_MS or duration_ms % _MINUTE_MS:
            reason = "temp_duration"
        elif percent >= 0:
            reason = "over_max_percent" if percent > MAX_TEMP_PERCENT else None
            reason = reason or check_rate(self.settings, self.profile.max_rate() * percent // 100)
        else:
            reason = check_rate(self.settings, rate)
        if reason is None and self.mode != RUN:
            reason = self.mode
        if reason is not None:
            self.log.emit(
                "refused", "what=temp rate=%d percent=%d reason=%s" % (rate, percent, reason)
            )
            return reason
        self.settle(now)
        self.temp_rate = rate if percent < 0 else 0
        self.temp_percent = percent
        self.temp_left = duration_ms
        self.log.emit(
            "temp", "state=started rate=%d percent=%d duration=%d" % (rate, percent, duration_ms)
        )
        self._retarget(now)
        self.persist()
        return None

    def cancel_temp(self, now):
        if not self.temp_left:
            return "no_temp"
        self.settle(now)
        self.temp_left = 0
        self.log.emit("temp", "state=cancelled")
        self._retarget(now)
        self.persist()
        return None

    def set_profile(self, now, profile):
        if profile.max_rate() > self.settings.max_basal:
            return "over_max_basal"
        if self.temp_left and self.temp_percent >= 0:
            # a running percent temp must stay within max basal on the new profile too
            reason = check_rate(self.settings, profile.max_rate() * self.temp_percent // 100)
            if reason is not None:
                self.log.emit("refused", "what=profile reason=%s_with_temp" % reason)
                return reason + "_with_temp"
        self.settle(now)
        self.profile = profile
        self.log.emit("profile", "segments=%d" % len(profile.starts))
        self._retarget(now)
        if self.journal is not None:
            save_profile(self.journal.store, profile)  # a reboot must not lose the basal
        return None

    def set_mode(self, now, mode, reason):
        if mode == self.mode:
            return "already_" + mode
        self.settle(now)
        self.mode = mode
        if mode != RUN and self.temp_left:
            self.temp_left = 0
            self.log.emit("temp", "state=cancelled")
        self.log.emit("mode", "mode=%s reason=%s" % (mode, reason))
        self.refresh(now)
        self.persist()
        return None
