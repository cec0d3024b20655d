"""The bolus button (seed: "at meal times the user presses a button which then
releases an extra amount of insulin"), DEL-3.

Each short press adds one step (a beep per step, so the user can count
without looking); a long press confirms and starts the bolus; no press for
``button_timeout_ms`` cancels the selection; a short press while a bolus runs
cancels that bolus. No bolus starts while suspended or alarmed: the press is
answered with the error beep. The button level is sampled every control
tick; a press becomes "long" as soon as it has been held long enough, without
waiting for release.
"""

from pump.compat import const
from pump.ticks import ticks_diff

IDLE = const(0)
SELECTING = const(1)


class ButtonBolus:
    def __init__(self, settings, delivery, feedback, log):
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
        if self.state == SELECTING and not self.held:
            if ticks_diff(now, self._last_press) >= self.settings.button_timeout_ms:
                self.state = IDLE
                self.log.emit("button", "state=timeout amount=%d" % self.amount)
                self.feedback.beep("cancel")

    def _short(self, now):
        self._last_press = now
        delivery = self.delivery
        if delivery.bolus is not None:
            self.state = IDLE
            delivery.cancel_bolus(now, "button")
            self.feedback.beep("cancel")
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

    def offer(self, now, amount, duration_ms, source):
        """A bolus asked for off the pump (the host): shown as a selection the user confirms
        on the pump with the long press, like a button bolus (DEL-3), or that lapses after
        the button timeout. None if offered, else the reason."""
        if self.state != IDLE or self.held:
            reason = "button_busy"
        else:
            reason = self.delivery.bolus_problem(amount, duration_ms)
        if reason is not None:
            self.log.emit(
                "refused", "what=bolus amount=%d src=%s reason=%s" % (amount, source, reason)
            )
            return reason
        self.state = SELECTING
        self.amount = amount
        self._duration = duration_ms
        self._source = source
        self._last_press = now
        self.log.emit(
            "button", "state=offered amount=%d duration=%d src=%s" % (amount, duration_ms, source)
        )
        self.feedback.beep("step", "n=1")
        return None

    def _long(self, now):
        if self.state != SELECTING:
            return
        self.state = IDLE
        self.log.emit("button", "state=confirmed amount=%d" % self.amount)
        if self.delivery.request_bolus(now, self.amount, self._duration, self._source) is None:
            self.feedback.beep("confirm")
        else:
            self.feedback.beep("error")
