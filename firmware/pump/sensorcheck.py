"""Pressure-sensor supervision (SEN-1): without a working sensor no occlusion can be seen.

Three faults, from the raw 12-bit counts and the noise estimate:
- out of range: at or within RANGE_MARGIN counts of either rail for RANGE_SAMPLES samples;
- stuck: the same count STUCK_SAMPLES samples in a row (ADC noise is >= 0.5 count
  on a working sensor, so 50 identical readings do not happen by chance);
- noisy beyond use: the signal-to-noise ratio of this line (the bump of one pulse
  as the detectors learned it, over the measured noise sigma) below SNR_MIN_Q4 / 16
  for NOISY_SAMPLES samples in a row. Below that ratio the bench
  (``make detect-bench``, the SNR sweep) shows the detectors missing their
  targets; above it they meet them, so the pump keeps delivering and supervising
  (docs/detection.md has the threshold and its evidence).
A fault clears after CLEAR_SAMPLES samples without it.
"""

from pump.compat import const, micropython
from pump.pressure import COUNTS_MAX

RANGE_MARGIN = const(2)
RANGE_SAMPLES = const(10)
STUCK_SAMPLES = const(50)
SNR_MIN_Q4 = const(24)  # bump / noise sigma below 1.5: noisy beyond use
NOISY_SAMPLES = const(50)  # 5 s: the noise estimate is itself a ~6 s average
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
        self._noisy = 0
        self.fault = OK

    @micropython.native
    def sample(self, counts, noise_pa, bump_pa):
        """Feed one raw reading with the noise sigma and the bump of one pulse (Pa) as
        measured on this line; returns the current fault code (OK when none)."""
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
        elif self.judge_noise and noise_pa * SNR_MIN_Q4 > bump_pa << 4:
            self._noisy += 1
            if self._noisy >= NOISY_SAMPLES:
                now = NOISY
        else:
            self._noisy = 0
        if now != OK:
            self.fault = now
            self._good = 0
        elif self.fault != OK:
            self._good += 1
            if self._good >= CLEAR_SAMPLES:
                self.fault = OK
        return self.fault
