"""Integer helpers for the plant: a seeded PRNG and exp(-x) in fixed point.

The plant must give the same bytes under CPython and the MicroPython Unix port,
so it never touches ``random`` or libm: everything here is integer arithmetic
(the plant runs on hosts only, where big ints are fine).
"""

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
        """Approximately normal int with standard deviation ``sigma`` (sum of 4 uniforms)."""
        total = 0
        for _ in range(4):
            total += (self.next() >> 16) - 32768
        # sum of 4 uniforms on [-2**15, 2**15) has sigma 2**16/sqrt(3) = 37837.2
        return total * sigma // 37837


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
