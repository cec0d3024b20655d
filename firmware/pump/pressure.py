"""The pressure sensor's scale: 12-bit ADC counts spanning 0..200 kPa absolute.

One definition for the detectors, the emulated plant and the trace files
(boards/hal.py PressureSensor reads counts on this scale).
"""

from pump.compat import const

COUNTS_MAX = const(4095)
FULL_SCALE_PA = const(200000)


def counts_to_pa(counts):
    """ADC counts to Pa, rounded."""
    return (counts * FULL_SCALE_PA + COUNTS_MAX // 2) // COUNTS_MAX


def pa_to_counts(pa):
    """Pa to ADC counts, rounded and clamped to the rails."""
    counts = (pa * COUNTS_MAX + FULL_SCALE_PA // 2) // FULL_SCALE_PA
    if counts < 0:
        return 0
    if counts > COUNTS_MAX:
        return COUNTS_MAX
    return counts
