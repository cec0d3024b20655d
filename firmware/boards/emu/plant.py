"""Placeholder line/plant model: a pressure bump per pulse that decays.

Integer physics only (Pa, ms), so MicroPython and CPython agree to the bit.
The detection work replaces this with the full line model (compliance,
resistance, faults); the interface stays: pulse(), retract(steps),
step(dt_ms), read_counts(), set_fault(kind, args).
"""

from boards.emu.rng import XorShift32

BASE_PA = 2000  # sensor reading of an unpressurised line
BUMP_PA = 1700  # pressure added by one 0.05 U pulse into a line with tissue resistance
TAU_MS = 20000  # decay time constant of a pulse bump
NOISE_PA = 150
FULL_SCALE_PA = 200000
COUNTS_MAX = 4095
FAULTS = ("occlusion", "clear")


class Plant:
    def __init__(self, seed=1):
        self.rng = XorShift32(seed)
        self.pressure = 0  # Pa above baseline
        self.occluded = False

    def pulse(self):
        self.pressure += BUMP_PA

    def retract(self, steps):
        self.pressure = max(0, self.pressure - steps * BUMP_PA // 10)

    def step(self, dt):
        if not self.occluded and dt > 0:
            self.pressure -= self.pressure * dt // (TAU_MS + dt)

    def read_counts(self):
        pa = BASE_PA + self.pressure + self.rng.below(2 * NOISE_PA + 1) - NOISE_PA
        counts = pa * COUNTS_MAX // FULL_SCALE_PA
        return 0 if counts < 0 else (COUNTS_MAX if counts > COUNTS_MAX else counts)

    def set_fault(self, kind, args):
        self.occluded = kind == "occlusion"
