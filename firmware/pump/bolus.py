"""A bolus as a train of pulses spread evenly over its duration (DEL-3).

Amounts are whole pulses (a request that is not is refused, never rounded).
A normal bolus runs at the configured speed (e.g. 1.5 U/min); an extended
(square) bolus spreads the same pulses over the duration the user chose. The
k-th pulse (k = 0..n-1) falls at k * duration / n after the start, by integer
Bresenham stepping, so the bolus never drifts and never changes basal.
"""

NORMAL = "normal"
EXTENDED = "extended"
PRIME = "prime"  # a cannula fill after a set change (DEL-7): priming, not a dose

# ms the line shows a pushed pulse before the motor pushes the next (four control samples)
PUSH_REST_MS = 400


def bolus_period_ms(speed_period_ms, push_ms):
    """The bolus (and prime) pulse period: the pulse over the bolus speed setting
    (``speed_period_ms``), but never shorter than the motor takes to push one pulse
    (``hal.Motor.push_ms``, declared by its driver) plus PUSH_REST_MS. A motor that cannot
    keep up would run the pulses into one slow push that the bolus's line test, judging
    each interval at this period, would take for a line that does not let out."""
    least = push_ms + PUSH_REST_MS if push_ms > 0 else 0
    return least if least > speed_period_ms else speed_period_ms


class Bolus:
    def __init__(self, ident, amount, pulse, duration_ms, kind, source):
        self.ident = ident
        self.amount = amount  # mU, a multiple of pulse
        self.pulse = pulse
        self.count = amount // pulse  # pulses in the train
        self.duration = duration_ms
        self.kind = kind
        self.source = source
        self.given = 0  # pulses delivered
        self._acc = 0  # Bresenham error term, in pulse-count x ms
        self.last = 0  # ticks up to which the train has been run

    def due(self, dt):
        """Pulses due after ``dt`` more ms (at most the pulses left)."""
        self._acc += self.count * dt
        n = 0
        left = self.count - self.given
        while self._acc >= 0 and n < left:
            self._acc -= self.duration
            n += 1
        return n

    def delivered(self):
        return self.given * self.pulse

    def done(self):
        return self.given >= self.count
