"""The sensor's scale: 12-bit ADC counts spanning 0..200 kPa absolute.

One definition for the detectors, the emulated plant and the trace files
(boards/hal.py PressureSensor reads counts on this scale).

Both conversions run on every sample, so on MicroPython they are viper functions
(machine-word ints, no allocation: every intermediate stays under 2**30). Each has a
plain-Python twin, used under CPython; tests/test_twins.py checks that the viper
function on the Unix port and the twin under CPython agree on random inputs.
"""

from pump.compat import const, micropython

COUNTS_MAX = const(4095)
FULL_SCALE_PA = const(200000)


def counts_to_pa_py(counts):
    """ADC counts to Pa, rounded (counts in 0..COUNTS_MAX)."""
    return (counts * FULL_SCALE_PA + COUNTS_MAX // 2) // COUNTS_MAX


def pa_to_counts_py(pa):
    """Pa to ADC counts, rounded and clamped to the rails."""
    if pa <= 0:
        return 0  # rounds to 0 or below: the low rail
    if pa >= FULL_SCALE_PA:
        return COUNTS_MAX  # rounds to COUNTS_MAX or above: the high rail
    return (pa * COUNTS_MAX + FULL_SCALE_PA // 2) // FULL_SCALE_PA


@micropython.viper
def _counts_to_pa_viper(counts: int) -> int:
    return (counts * FULL_SCALE_PA + COUNTS_MAX // 2) // COUNTS_MAX


@micropython.viper
def _pa_to_counts_viper(pa: int) -> int:
    if pa <= 0:
        return 0
    if pa >= FULL_SCALE_PA:
        return COUNTS_MAX
    return (pa * COUNTS_MAX + FULL_SCALE_PA // 2) // FULL_SCALE_PA


try:
    import micropython as _on_micropython  # noqa: F401

    counts_to_pa = _counts_to_pa_viper
    pa_to_counts = _pa_to_counts_viper
except ImportError:  # CPython: the twins
    counts_to_pa = counts_to_pa_py
    pa_to_counts = pa_to_counts_py
