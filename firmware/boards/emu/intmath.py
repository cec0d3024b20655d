"""Integer helpers for the plant: a seeded PRNG and exp(-x) in fixed point.

The plant must give the same bytes under CPython and the MicroPython Unix port,
so it never touches ``random`` or libm: everything here is integer arithmetic
(the plant runs on hosts only, where big ints are fine).
"""

# 1000 x the normal quantiles at (i + 0.5) / 256 for i = 128..255 (the upper half; the
# lower half is the mirror image): one PRNG draw gives a Gaussian sample
_GAUSS_HALF = (
    5, 15, 24, 34, 44, 54, 64, 74, 83, 93, 103, 113, 123, 133, 142, 152, 162, 172, 182, 192, 202,
    212, 222, 232, 242, 252, 262, 273, 283, 293, 303, 313, 324, 334, 345, 355, 365, 376, 386, 397,
    408, 418, 429, 440, 451, 461, 472, 483, 494, 505, 517, 528, 539, 550, 562, 573, 585, 597, 608,
    620, 632, 644, 656, 668, 681, 693, 706, 718, 731, 744, 757, 770, 783, 796, 810, 824, 837, 851,
    866, 880, 894, 909, 924, 939, 954, 970, 986, 1002, 1018, 1035, 1052, 1069, 1086, 1104, 1122,
    1141, 1160, 1179, 1199, 1219, 1240, 1262, 1284, 1306, 1330, 1354, 1379, 1405, 1431, 1459, 1488,
    1518, 1550, 1584, 1619, 1656, 1696, 1739, 1785, 1836, 1891, 1953, 2024, 2107, 2207, 2335, 2521,
    2886,
)  # fmt: skip

Q30 = 1 << 30
_MASK32 = 0xFFFFFFFF


class XorShift32:
    """Marsaglia xorshift32: small, fast, identical on every interpreter."""

    def __init__(self, seed):
        state = (seed * 2654435761 + 0x9E3779B9) & _MASK32
        self.state = state or 0x6D2B79F5

    def next(self):
        x = self.state
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        self.state = x
        return x

    def below(self, n):
        """Uniform int in 0..n-1 (n >= 1; the bias for n << 2**32 is negligible here)."""
        return self.next() % n

    def between(self, lo, hi):
        """Uniform int in lo..hi inclusive."""
        return lo + self.next() % (hi - lo + 1)

    def gauss(self, sigma):
        """Normal int with standard deviation ``sigma`` (256-level quantile table, tails
        cut at 2.9 sigma: the plant's rare large errors are its spikes)."""
        x = self.next()
        v = _GAUSS_HALF[x & 127]
        if x & 128:
            v = -v
        return v * sigma // 1000


def exp_neg_q30(x_q30):
    """exp(-x) in Q30 for x >= 0 given in Q30, to about 1e-7 absolute."""
    if x_q30 <= 0:
        return Q30
    if x_q30 >= 40 * Q30:
        return 0
    # halve x until it is below 2**-8, Taylor to 5 terms, then square back up
    # (carried in Q40 so the squarings do not amplify the rounding)
    x = x_q30 << 10
    one = 1 << 40
    k = 0
    while x > (one >> 8):
        x = (x + 1) >> 1
        k += 1
    x2 = x * x >> 40
    x3 = x2 * x >> 40
    x4 = x3 * x >> 40
    y = one - x + (x2 >> 1) - x3 // 6 + x4 // 24
    for _ in range(k):
        y = y * y >> 40
    return y >> 10


def triangle(t, period, amplitude):
    """Triangle wave of ``amplitude`` and ``period`` at ``t`` (ints), starting at 0 rising."""
    if period <= 0 or amplitude == 0:
        return 0
    phase = (t + period // 4) % period
    half = period // 2
    if phase < half:
        return -amplitude + 2 * amplitude * phase // half
    return amplitude - 2 * amplitude * (phase - half) // (period - half)
