"""PWM buzzer: a tone starts now and a one-shot timer ends it.

The timer callback only sets the duty to 0, so the scheduler never waits for
a beep to finish.
"""

from boards import hal

_HALF_DUTY = 32768


class PwmBuzzer(hal.Buzzer):
    """``pwm`` is a ``machine.PWM``; ``timer`` a ``machine.Timer`` and ``one_shot``
    its ``Timer.ONE_SHOT`` constant (it differs between ports)."""

    def __init__(self, pwm, timer, one_shot):
        self._pwm = pwm
        self._timer = timer
        self._one_shot = one_shot
        self._stop = self._on_timer  # bound once: no allocation in the callback
        pwm.duty_u16(0)

    def _on_timer(self, _timer):
        self._pwm.duty_u16(0)

    def tone(self, freq_hz, ms):
        if freq_hz <= 0 or ms <= 0:
            self.off()
            return
        self._pwm.freq(freq_hz)
        self._pwm.duty_u16(_HALF_DUTY)
        self._timer.init(mode=self._one_shot, period=ms, callback=self._stop)

    def off(self):
        self._timer.deinit()
        self._pwm.duty_u16(0)
