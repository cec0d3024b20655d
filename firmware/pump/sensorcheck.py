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

from array import array

from pump.compat import const, micropython, ptr32

RANGE_MARGIN = const(2)
RANGE_SAMPLES = const(10)
HIGH_RAIL = const(4093)  # pump.pressure.COUNTS_MAX - RANGE_MARGIN (a const: viper code)
STUCK_SAMPLES = const(50)
SNR_MIN_Q4 = const(24)  # bump / noise sigma below 1.5: noisy beyond use
NOISY_SAMPLES = const(50)  # 5 s: the noise estimate is itself a ~6 s average
CLEAR_SAMPLES = const(300)

OK = const(0)
OUT_OF_RANGE = const(1)
STUCK = const(2)
NOISY = const(3)
FAULT_NAMES = ("ok", "out_of_range", "stuck", "noisy")


# SensorCheck._c: its counters, one int array (the viper ``sample`` reads them by pointer)
_C_LAST = const(0)  # the count before this one (-1: none)
_C_SAME = const(1)  # samples in a row at that count
_C_RAIL = const(2)  # samples in a row at a rail
_C_GOOD = const(3)  # samples without a fault since one stood
_C_NOISY = const(4)  # samples in a row too noisy
_C_LEN = const(5)


class SensorCheck:
    def __init__(self):
        self.judge_noise = True  # the bench's SNR sweep turns it off to see past it
        self._c = array("i", [0] * _C_LEN)
        self.reset()

    def reset(self):
        c = self._c
        for i in range(_C_LEN):
            c[i] = 0
        c[_C_LAST] = -1
        self.fault = OK

    @micropython.viper
    def sample(self, counts: int, noise_pa: int, bump_pa: int) -> int:
        """Feed one raw reading with the noise sigma and the bump of one pulse (Pa) as
        measured on this line; returns the current fault code (OK when none).

        A viper function over the counters in ``_c`` (it runs every control tick); the same
        source is the plain-Python twin under CPython (tests/test_twins.py)."""
        c = ptr32(self._c)
        one = 1
        sx = one << 31  # ptr32 loads zero-extend on a 64-bit port: sign the last count
        mx = (sx << 1) - 1
        if counts == ((c[_C_LAST] + sx) & mx) - sx:
            c[_C_SAME] = c[_C_SAME] + 1
        else:
            c[_C_SAME] = 1
            c[_C_LAST] = counts
        if counts <= RANGE_MARGIN or counts >= HIGH_RAIL:
            c[_C_RAIL] = c[_C_RAIL] + 1
        else:
            c[_C_RAIL] = 0
        now = OK
        if c[_C_RAIL] >= RANGE_SAMPLES:
            now = OUT_OF_RANGE
        elif c[_C_SAME] >= STUCK_SAMPLES:
            now = STUCK
        elif noise_pa * SNR_MIN_Q4 > bump_pa << 4 and self.judge_noise:
            c[_C_NOISY] = c[_C_NOISY] + 1
            if c[_C_NOISY] >= NOISY_SAMPLES:
                now = NOISY
        else:
            c[_C_NOISY] = 0
        fault = int(self.fault)
        if now != OK:
            self.fault = now
            c[_C_GOOD] = 0
            return now
        if fault != OK:
            c[_C_GOOD] = c[_C_GOOD] + 1
            if c[_C_GOOD] >= CLEAR_SAMPLES:
                self.fault = OK
                return OK
        return fault
