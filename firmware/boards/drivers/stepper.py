"""STEP/DIR stepper driver (A4988, DRV8825, TMC2208 in step/dir mode).

One insulin pulse is a fixed number of motor steps. Steps are counted, so the
plunger position is known without an encoder; the application turns pulses
into insulin.
"""

from boards import hal

try:
    import micropython
except ImportError:  # CPython: the decorator below becomes a no-op
    from boards.drivers import _native as micropython

_FORWARD = 1
_REVERSE = 0


class StepDirStepper(hal.Motor):
    """``step``, ``direction`` and ``enable`` are output pins (``enable`` may be None).

    ``enable_active_low`` matches the common driver boards whose EN input is
    active low; the driver is disabled between moves so the coils stay cool.
    ``sleep_us`` is the port's ``time.sleep_us``; ``half_period_us`` sets the
    step rate (500 us high + 500 us low = 1000 steps/s).
    """

    def __init__(
        self,
        step,
        direction,
        enable,
        sleep_us,
        steps_per_pulse=8,
        half_period_us=500,
        enable_active_low=True,
    ):
        if steps_per_pulse < 1:
            raise ValueError("steps_per_pulse must be >= 1")
        if half_period_us < 2:
            raise ValueError("half_period_us must be >= 2 (driver minimum pulse width)")
        self._step = step
        self._dir = direction
        self._enable = enable
        self._sleep_us = sleep_us
        self.steps_per_pulse = steps_per_pulse
        self._half_us = half_period_us
        # the pulse is a blocking move of steps_per_pulse steps at 2 x half_period_us each
        self.push_ms = (steps_per_pulse * 2 * half_period_us + 999) // 1000
        self._on = 0 if enable_active_low else 1
        self._position = 0
        self._step.value(0)
        self._power(False)

    def _power(self, on):
        if self._enable is not None:
            self._enable.value(self._on if on else 1 - self._on)

    @micropython.native
    def _run(self, count):
        # Native code: the inner loop sets the step rate, so keep it tight.
        step = self._step
        sleep_us = self._sleep_us
        half = self._half_us
        for _ in range(count):
            step.value(1)
            sleep_us(half)
            step.value(0)
            sleep_us(half)

    def _move(self, direction, count):
        self._dir.value(direction)
        self._power(True)
        try:
            self._run(count)
        finally:
            self._power(False)

    def pulse(self):
        self._move(_FORWARD, self.steps_per_pulse)
        self._position += self.steps_per_pulse

    def retract(self, steps):
        if steps < 0:
            raise ValueError("retract steps must be >= 0")
        self._move(_REVERSE, steps)
        self._position -= steps

    def position(self):
        return self._position
