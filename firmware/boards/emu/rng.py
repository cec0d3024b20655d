"""A small deterministic PRNG (xorshift32): same numbers on MicroPython and CPython."""


class XorShift32:
    def __init__(self, seed):
        self.state = (seed & 0xFFFFFFFF) or 0x9E3779B9

    def next(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def below(self, n):
        """An int in 0..n-1."""
        return self.next() % n

    def symmetric(self, amplitude):
        """An int in -amplitude..amplitude (a triangular-ish noise sample)."""
        return self.below(amplitude + 1) - self.below(amplitude + 1)
