"""pump.ticks: wrap-safe arithmetic at the boards' 2**30 period."""

from hypothesis import given
from hypothesis import strategies as st
from pump.ticks import TICKS_MASK, TICKS_PERIOD, ticks_add, ticks_diff

ticks = st.integers(0, TICKS_MASK)
deltas = st.integers(-(TICKS_PERIOD // 2) + 1, TICKS_PERIOD // 2 - 1)


@given(ticks, deltas)
def test_diff_undoes_add_across_the_wrap(start, delta):
    end = ticks_add(start, delta)
    assert 0 <= end <= TICKS_MASK
    assert ticks_diff(end, start) == delta


def test_wrap_point():
    assert ticks_add(TICKS_MASK, 1) == 0
    assert ticks_diff(0, TICKS_MASK) == 1
    assert ticks_diff(TICKS_MASK, 0) == -1
    assert ticks_diff(5, TICKS_MASK - 4) == 10
