"""The exponential insulin action curve (IOB-1) as an integer table.

The curve is the one oref0, Loop and AndroidAPS use: insulin activity after a
dose is proportional to ``t * (1 - t/D) * exp(-t/tau)`` for ``0 <= t <= D``,
where D is the duration of action and ``tau = P (1 - P/D) / (1 - 2P/D)`` puts
the peak of activity at P minutes. The fraction of the dose still on board at
``t`` is one minus the activity integrated from 0 to ``t``, divided by the
integral over the whole action. An optional delay (Loop's) shifts the curve:
nothing acts during the first ``delay`` minutes.

No floats: ``exp(-t/tau)`` is ``2**(-t log2(e) / tau)`` from a 65-entry table
of ``2**(-i/64)``; the activity is summed per minute (trapezoids) and the
fraction remaining is kept per minute in Q15 (32768 = the whole dose), with
linear interpolation between minutes. Every intermediate stays below 2**30, so
CPython, the Unix port and a 32-bit board compute the same bytes. Built by
construction: 1 (32768) at the dose, 0 at the end of action, never increasing.
"""

from pump.compat import const, zeros
from pump.units import InputError

ONE = const(32768)  # Q15: the whole dose still on board
_SHIFT = const(15)
_LOG2E_Q20 = const(1512775)  # log2(e) * 2**20
# 2**(-i/64) in Q16 for i = 0..64 (tests/test_actioncurve.py recomputes it)
_POW2 = (
    65536, 64830, 64132, 63441, 62757, 62081, 61413, 60751, 60097, 59449, 58809, 58176, 57549,
    56929, 56316, 55709, 55109, 54515, 53928, 53347, 52773, 52204, 51642, 51085, 50535, 49991,
    49452, 48920, 48393, 47871, 47356, 46846, 46341, 45842, 45348, 44859, 44376, 43898, 43425,
    42958, 42495, 42037, 41584, 41136, 40693, 40255, 39821, 39392, 38968, 38548, 38133, 37722,
    37316, 36914, 36516, 36123, 35734, 35349, 34968, 34591, 34219, 33850, 33486, 33125, 32768,
)  # fmt: skip

# (name, duration of action min, peak min): the presets of oref0 / AndroidAPS
PRESETS = (("rapid", 360, 75), ("ultra_rapid", 360, 55))
DIA_RANGE = (300, 600)  # oref0 requires at least 5 h for the exponential curves
PEAK_RANGE = (35, 120)
DELAY_RANGE = (0, 30)


def pow2_neg_q16(y_q20):
    """``2**(-y)`` in Q16 for ``y >= 0`` given in Q20 (integer in, integer out)."""
    n = y_q20 >> 20
    if n >= 17:
        return 0
    frac = y_q20 & 0xFFFFF
    i = frac >> 14  # 0..63: the table step
    r = frac & 0x3FFF  # 14 bits within the step
    a = _POW2[i]
    return (a - ((a - _POW2[i + 1]) * r >> 14)) >> n


def check(dia_min, peak_min, delay_min, where="insulin"):
    """InputError unless the curve parameters are in range (integer minutes)."""
    for name, value, bounds in (
        ("dia_min", dia_min, DIA_RANGE),
        ("peak_min", peak_min, PEAK_RANGE),
        ("delay_min", delay_min, DELAY_RANGE),
    ):
        if type(value) is not int or not bounds[0] <= value <= bounds[1]:
            raise InputError(
                where + "." + name,
                "expected an integer %d..%d minutes, got %r" % (bounds[0], bounds[1], value),
            )


class ActionCurve:
    """Fraction of a dose still on board, per second since the dose, in Q15."""

    def __init__(self, dia_min, peak_min, delay_min=0):
        check(dia_min, peak_min, delay_min)
        self.dia_min = dia_min
        self.peak_min = peak_min
        self.delay_min = delay_min
        self.end_s = (dia_min + delay_min) * 60  # nothing left on board from here on
        self.table = _build(dia_min, peak_min)

    def remaining(self, elapsed_s):
        """Q15 fraction of a dose given ``elapsed_s`` seconds ago still on board
        (ONE for a dose not yet acting or in the future, 0 after the end of action)."""
        t = elapsed_s - self.delay_min * 60
        if t <= 0:
            return ONE
        m = t // 60
        if m >= self.dia_min:
            return 0
        table = self.table
        a = table[m]
        return a - (a - table[m + 1]) * (t - m * 60) // 60

    def on_board(self, amount_mu, elapsed_s):
        """mU of ``amount_mu`` still on board after ``elapsed_s`` seconds."""
        return on_board(amount_mu, self.remaining(elapsed_s))


def on_board(amount_mu, fraction):
    """``amount_mu * fraction / ONE`` rounded away from zero (IOB errs on the side of more
    insulin on board, so the calculator errs on the side of less), split so that no product
    reaches 2**30."""
    if amount_mu < 0:
        return -on_board(-amount_mu, fraction)
    whole = amount_mu >> _SHIFT
    part = amount_mu - (whole << _SHIFT)
    return whole * fraction + ((part * fraction + ONE - 1) >> _SHIFT)


def _build(dia, peak):
    """Q15 fraction remaining at each whole minute 0..dia (array of dia + 1 entries)."""
    # exp(-t/tau) = 2**(-t * rate) with rate = log2(e) (D - 2P) / (P (D - P)), in Q20 per minute
    rate = (dia - 2 * peak) * _LOG2E_Q20 // (peak * (dia - peak))
    # Two passes over the activity, the total first, instead of keeping every running sum:
    # no 1.4 KB temporary at boot (a 64 KB board had no hole for it)
    total = 0  # twice the trapezoid sum of activity
    before = 0
    for t in range(1, dia + 1):
        activity = _activity(dia, rate, t)
        total += before + activity
        before = activity
    table = zeros("H", dia + 1)
    table[0] = ONE
    running = 0
    before = 0
    for t in range(1, dia + 1):
        activity = _activity(dia, rate, t)
        running += before + activity
        before = activity
        table[t] = ONE - _fraction_q15(running, total)
    return table


def _activity(dia, rate, t):
    """Activity at minute ``t`` (unnormalised, rounded, <= 45000)."""
    shape = t * (dia - t) >> 3  # t (D - t) / 8 <= 11250: times a Q16 factor stays < 2**30
    return (shape * pow2_neg_q16(t * rate) + 0x2000) >> 14


def _fraction_q15(num, den):
    """round(num * ONE / den) for 0 <= num <= den < 2**29, by long division (no 2**30 products)."""
    q = 0
    r = num
    for _ in range(_SHIFT):
        r <<= 1
        q <<= 1
        if r >= den:
            r -= den
            q += 1
    if r << 1 >= den:  # the 16th bit: round to nearest
        q += 1
    return q if q <= ONE else ONE
