"""Pressure-sensor supervision (SEN-1): without a working sensor no occlusion can be seen.

Three faults, from the raw 12-bit counts and the noise estimate:
- out of range: at or within RANGE_MARGIN counts of either rail for RANGE_SAMPLES samples;
- stuck: the same count STUCK_SAMPLES samples in a row (ADC noise is >= 0.5 count
  on a working sensor, so 50 identical readings do not happen by chance);
- noisy beyond use: estimated noise sigma above NOISY_PA.
A fault clears after CLEAR_SAMPLES samples without it.
"""

from pump.compat import const
from pump.pressure import COUNTS_MAX

RANGE_MARGIN = const(2)
RANGE_SAMPLES = const(10)
STUCK_SAMPLES = const(50)
NOISY_PA = const(400)
CLEAR_SAMPLES = const(300)

OK = const(0)
OUT_OF_RANGE = const(1)
STUCK = const(2)
NOISY = const(3)
FAULT_NAMES = ("ok", "out_of_range", "stuck", "noisy")


class SensorCheck:
    def __init__(self):
        self.judge_noise = True  # the bench's SNR sweep turns it off to see past it
        self.reset()

    def reset(self):
        self._last = -1
        self._same = 0
        self._rail = 0
        self._good = 0
        self.fault = OK

    def sample(self, counts, noise_pa):
        """Feed one raw reading; returns the current fault code (OK when none)."""
        if counts == self._last:
            self._same += 1
        else:
            self._same = 1
            self._last = counts
        if counts <= RANGE_MARGIN or counts >= COUNTS_MAX - RANGE_MARGIN:
            self._rail += 1
        else:
            self._rail = 0
        now = OK
        if self._rail >= RANGE_SAMPLES:
            now = OUT_OF_RANGE
        elif self._same >= STUCK_SAMPLES:
            now = STUCK
        elif self.judge_noise and noise_pa > NOISY_PA:
            now = NOISY
        if now != OK:
            self.fault = now
            self._good = 0
        elif self.fault != OK:
            self._good += 1
            if self._good >= CLEAR_SAMPLES:
                self.fault = OK
        return self.fault
