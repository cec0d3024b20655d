"""The bolus button (seed: "at meal times the user presses a button which then
releases an extra amount of insulin"), DEL-3.

Each short press adds one step (a beep per step, so the user can count
without looking); a long press confirms and starts the bolus; no press for
``button_timeout_ms`` cancels the selection; a short press while a bolus runs
cancels that bolus. No bolus starts while suspended or alarmed: the press is
answered with the error beep. The button level is sampled every control
tick; a press becomes "long" as soon as it has been held long enough, without
waiting for release.

The bolus calculator (pump/wizard.py) has a menu on the same button: a long
press while idle opens it; short presses count the BG in steps of
``wizard_bg_step_mgdl`` (none: the CGM's reading up to 10 min old, if any), a
long press moves on; short presses count the carbs in steps of
``wizard_carb_step_g``, a long press asks for the proposal, which is then
offered like a host bolus: one more long press accepts it, a short press or
the timeout declines it. Beeps: ``confirm`` at each stage, ``step n=`` per
press, ``error`` when refused, ``cancel`` when nothing is given.
"""

from pump.compat import const
from pump.ticks import ticks_diff

IDLE = const(0)
SELECTING = const(1)
MENU_BG = const(2)
MENU_CARBS = const(3)


class ButtonBolus:
    def __init__(self, settings, delivery, feedback, log, therapy=None):
        self.settings = settings
        self.delivery = delivery
        self.feedback = feedback
        self.log = log
        self.state = IDLE
        self.amount = 0  # mU selected so far
        self.held = False  # the button is down (the app skips idle ticks with it)
        self._down_at = 0
        self._long_sent = False
        self._last_press = 0
        self._duration = 0  # ms, for a bolus offered by the host (0: normal)
        self._source = "button"
        self._prime = False  # the selection offered is a prime (DEL-7), not a bolus
        self.therapy = therapy  # pump.therapy.Therapy: the calculator menu and its offers
        self._bg_presses = 0
        self._carb_presses = 0

    def sample(self, now, pressed):
        """Feed one sample of the button level at ``now`` (ticks)."""
        if pressed:
            if not self.held:
                self.held = True
                self._down_at = now
                self._long_sent = False
            elif (
                not self._long_sent
                and ticks_diff(now, self._down_at) >= self.settings.long_press_ms
            ):
                self._long_sent = True
                self._long(now)
        elif self.held:
            self.held = False
            if not self._long_sent:
                self._short(now)
        if self.state != IDLE and not self.held:
            if ticks_diff(now, self._last_press) >= self.settings.button_timeout_ms:
                state = self.state
                self.state = IDLE
                self._prime = False
                amount = self.amount if state == SELECTING else 0
                self.log.emit("button", "state=timeout amount=%d" % amount)
                self.feedback.beep("cancel")
                if state == SELECTING:
                    self._offer_ended(False)

    def _offer_ended(self, accepted):
        if self._source == "wizard" and self.therapy is not None:
            self.therapy.offer_ended(self.amount, accepted)

    def _short(self, now):
        self._last_press = now
        delivery = self.delivery
        if delivery.bolus is not None:
            self.state = IDLE
            delivery.cancel_bolus(now, "button")
            self.feedback.beep("cancel")
            return
        if self.state == MENU_BG or self.state == MENU_CARBS:
            self._menu_step(now)
            return
        if self.state == SELECTING and (self._source == "wizard" or self._prime):
            self.state = IDLE  # a short press declines the calculator's proposal, or a prime
            self._prime = False
            self.log.emit("button", "state=declined amount=%d" % self.amount)
            self.feedback.beep("cancel")
            self._offer_ended(False)
            return
        if self.state == IDLE:
            reason = delivery.can_bolus()
            if reason is not None:
                self.log.emit("refused", "what=button reason=%s" % reason)
                self.feedback.beep("error")
                return
            self.state = SELECTING
            self.amount = self.settings.button_step
            self._duration = 0
            self._source = "button"
            self._prime = False
        elif self.amount + self.settings.button_step > self.settings.max_bolus:
            self.log.emit(
                "refused", "what=button_step amount=%d reason=over_max_bolus" % self.amount
            )
            self.feedback.beep("error")
            return
        else:
            self.amount += self.settings.button_step
        self.log.emit("button", "state=selecting amount=%d" % self.amount)
        self.feedback.beep("step", "n=%d" % (self.amount // self.settings.button_step))

    def offer(self, now, amount, duration_ms, source, from_menu=False, prime=False):
        """A bolus asked for off the pump (the host, the calculator): shown as a selection
        the user confirms on the pump with the long press, like a button bolus (DEL-3), or
        that lapses after the button timeout. None if offered, else the reason.
        ``from_menu``: offered by the calculator menu at the end of a long press (which
        therefore cannot confirm it: only a new long press does). ``prime``: a cannula fill
        (DEL-7) rather than a bolus, confirmed the same way."""
        what = "prime" if prime else "bolus"
        if self.state != IDLE or (self.held and not from_menu):
            reason = "button_busy"
        elif prime:
            reason = self.delivery.prime_problem(amount)
        else:
            reason = self.delivery.bolus_problem(amount, duration_ms)
        if reason is not None:
            self.log.emit(
                "refused", "what=%s amount=%d src=%s reason=%s" % (what, amount, source, reason)
            )
            return reason
        self.state = SELECTING
        self.amount = amount
        self._duration = duration_ms
        self._source = source
        self._prime = prime
        self._last_press = now
        self.log.emit(
            "button",
            "state=offered amount=%d duration=%d src=%s%s"
            % (amount, duration_ms, source, " what=prime" if prime else ""),
        )
        self.feedback.beep("step", "n=1")
        return None

    def _long(self, now):
        if self.state != SELECTING:
            self._menu_next(now)
            return
        self.state = IDLE
        self.log.emit("button", "state=confirmed amount=%d" % self.amount)
        if self._prime:
            self._prime = False
            started = self.delivery.request_prime(now, self.amount, self._source)
        else:
            started = self.delivery.request_bolus(now, self.amount, self._duration, self._source)
        self.feedback.beep("confirm" if started is None else "error")
        self._offer_ended(started is None)

    # -- the calculator menu ------------------------------------------------------------

    def _menu_step(self, now):
        self._last_press = now
        if self.state == MENU_BG:
            self._bg_presses += 1
            n = self._bg_presses
        else:
            self._carb_presses += 1
            n = self._carb_presses
        self.log.emit("button", "state=menu_step n=%d" % n)
        self.feedback.beep("step", "n=%d" % n)

    def _menu_next(self, now):
        """Long press outside a selection: open the menu, or move to its next stage."""
        therapy = self.therapy
        if therapy is None:
            return
        self._last_press = now
        s = self.settings
        if self.state == IDLE:
            reason = self.delivery.can_bolus()
            if reason is not None:
                self.log.emit("refused", "what=wizard reason=%s" % reason)
                self.feedback.beep("error")
                return
            self.state = MENU_BG
            self._bg_presses = 0
            self._carb_presses = 0
            self.log.emit("button", "state=menu_bg")
            self.feedback.beep("confirm")
            return
        if self.state == MENU_BG:
            if self._bg_presses:
                therapy.add_bg(now, self._bg_presses * s.bg_step, 0)  # a finger stick
            self.state = MENU_CARBS
            self.log.emit("button", "state=menu_carbs")
            self.feedback.beep("confirm")
            return
        self.state = IDLE
        bg = self._bg_presses * s.bg_step
        p = therapy.propose(self._carb_presses * s.carb_step, bg)
        reason = therapy.offer(now, p, "button")
        if reason is not None:
            self.log.emit("refused", "what=wizard reason=%s" % reason)
            self.feedback.beep("cancel" if reason == "nothing_to_give" else "error")
