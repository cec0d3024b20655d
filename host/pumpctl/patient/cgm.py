"""CGM sensor models as simglucose 0.2.11 defines them: noise, sampling, range.

The error is a Johnson SU transform of an AR(1) process sampled every 15 min
(e_k = PACF * (e_{k-1} + n_k), n_k standard normal), interpolated to the sensor's
sample time by a not-a-knot cubic spline over blocks of 10 intervals (150 min), each block
starting where the last ended; readings hold between samples and are clipped to the
sensor's range. The normal draws are NumPy's legacy ``RandomState(seed)`` stream, the one
simglucose uses, so a seed gives simglucose's noise sequence.
"""

from __future__ import annotations

from collections import deque
from math import sinh

import numpy as np

from pumpctl.patient.params import Sensor

NOISE_STEP_MIN = 15
BLOCK = 10  # 15-min noise values per interpolated block


def not_a_knot_spline(xs: list[float], ys: list[float], at: list[float]) -> list[float]:
    """Cubic spline through (xs, ys) with not-a-knot ends, evaluated at ``at`` (in range)."""
    n = len(xs)
    h = [xs[i + 1] - xs[i] for i in range(n - 1)]
    # unknowns: second derivatives M_0..M_{n-1}
    a = np.zeros((n, n))
    r = np.zeros(n)
    for i in range(1, n - 1):
        a[i, i - 1] = h[i - 1]
        a[i, i] = 2 * (h[i - 1] + h[i])
        a[i, i + 1] = h[i]
        r[i] = 6 * ((ys[i + 1] - ys[i]) / h[i] - (ys[i] - ys[i - 1]) / h[i - 1])
    # not-a-knot: the third derivative is continuous at x_1 and x_{n-2}
    a[0, 0], a[0, 1], a[0, 2] = h[1], -(h[0] + h[1]), h[0]
    a[n - 1, n - 3], a[n - 1, n - 2], a[n - 1, n - 1] = h[n - 2], -(h[n - 3] + h[n - 2]), h[n - 3]
    m = np.linalg.solve(a, r)
    out = []
    j = 0
    for x in at:
        while j < n - 2 and x > xs[j + 1]:
            j += 1
        hj = h[j]
        u, v = xs[j + 1] - x, x - xs[j]
        out.append(
            float(m[j] * u**3 / (6 * hj) + m[j + 1] * v**3 / (6 * hj)
                  + (ys[j] / hj - m[j] * hj / 6) * u + (ys[j + 1] / hj - m[j + 1] * hj / 6) * v)
        )
    return out


class CGMNoise:
    """The sensor error sequence, one value per sample (mg/dL)."""

    def __init__(self, sensor: Sensor, seed: int | None):
        self.sensor = sensor
        self.rng = np.random.RandomState(seed)
        self._e = None
        self._prev = self._next15()
        self._queue: deque[float] = deque()

    def _next15(self) -> float:
        s = self.sensor
        n = self.rng.randn()
        self._e = n if self._e is None else s.pacf * (self._e + n)
        return s.xi + s.lam * sinh((self._e - s.gamma) / s.delta)

    def __next__(self) -> float:
        if not self._queue:
            values = [self._prev] + [self._next15() for _ in range(BLOCK)]
            self._prev = values[-1]
            step = self.sensor.sample_min
            xs = [float(i * NOISE_STEP_MIN) for i in range(BLOCK + 1)]
            count = BLOCK * NOISE_STEP_MIN // step + 1
            at = [float(i * step) for i in range(count)]
            self._queue.extend(not_a_knot_spline(xs, values, at)[1:])
        return self._queue.popleft()


class CGM:
    """A CGM on a patient: a new reading every ``sample_min``, held in between."""

    def __init__(self, sensor: Sensor, seed: int | None):
        self.sensor = sensor
        self.noise = CGMNoise(sensor, seed)
        self.last = 0.0

    def measure(self, t_min: int, glucose: float) -> float:
        """The reading at minute ``t_min`` of a patient whose glucose is ``glucose``."""
        if t_min % self.sensor.sample_min == 0:
            value = glucose + next(self.noise)
            self.last = min(max(value, self.sensor.low), self.sensor.high)
        return self.last
