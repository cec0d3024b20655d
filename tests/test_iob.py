"""IOB-1: the integer exponential insulin action curve against its closed form, and the dose
history the pump keeps (pump/actioncurve.py, pump/iob.py)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pump import actioncurve
from pump.actioncurve import ONE, ActionCurve, on_board, pow2_neg_q16
from pump.iob import BUCKET_S, SLOTS, DoseHistory
from pump.units import InputError

# The table is Q15 per minute with linear interpolation; measured against the closed form
# over every dia 300..600 (step 10), peak 35..120 (step 1) and second 0..end (step 13):
# at most 8.3 / 32768 of the dose. The tolerance below is twice that: 16 / 32768 (0.05 %,
# half a milli-unit per unit).
TOLERANCE = 16 / ONE

dias = st.integers(*actioncurve.DIA_RANGE)
peaks = st.integers(*actioncurve.PEAK_RANGE)
delays = st.integers(*actioncurve.DELAY_RANGE)


def closed_form(t_min: float, dia: int, peak: int, delay: int = 0) -> float:
    """Fraction on board, oref0/Loop form: 1 - S(1-a)((t²/(tau D (1-a)) - t/tau - 1)e^(-t/tau)
    + 1), expanded so that a = 1 needs no division by (1 - a)."""
    t = t_min - delay
    if t <= 0:
        return 1.0
    if t >= dia:
        return 0.0
    tau = peak * (1 - peak / dia) / (1 - 2 * peak / dia)
    a = 2 * tau / dia
    s = 1 / (1 - a + (1 + a) * math.exp(-dia / tau))
    e = math.exp(-t / tau)
    return 1 - s * ((1 - a) * (1 - e) - (1 - a) * (t / tau) * e + t * t / (tau * dia) * e)


def test_power_table_is_two_to_the_minus_i_over_64():
    for i in range(65):
        assert pow2_neg_q16(i << 14) == round(65536 * 2 ** (-i / 64))


@given(st.integers(0, 20 << 20))
def test_pow2_matches_the_float(y):
    assert abs(pow2_neg_q16(y) - 65536 * 2 ** (-y / (1 << 20))) <= 2  # table, interpolation, floor


@given(dias, peaks, delays, st.data())
def test_curve_follows_the_closed_form(dia, peak, delay, data):
    curve = ActionCurve(dia, peak, delay)
    for s in data.draw(st.lists(st.integers(-600, (dia + delay + 10) * 60), min_size=1)):
        got = curve.remaining(s) / ONE
        assert abs(got - closed_form(s / 60, dia, peak, delay)) <= TOLERANCE, s


@given(dias, peaks, delays)
def test_one_at_the_dose_zero_at_the_end_and_never_rising(dia, peak, delay):
    curve = ActionCurve(dia, peak, delay)
    assert curve.remaining(0) == ONE
    assert curve.remaining(delay * 60) == ONE
    assert curve.remaining((dia + delay) * 60) == 0
    assert curve.remaining((dia + delay) * 60 + 1) == 0
    before = ONE
    for s in range(0, (dia + delay) * 60 + 1, 7):
        now = curve.remaining(s)
        assert 0 <= now <= before
        before = now


@pytest.mark.parametrize("name,dia,peak", actioncurve.PRESETS)
def test_presets_peak_where_they_say(name, dia, peak):
    """Activity (the drop per minute) is largest at the preset's peak minute; it is flat
    there, so Q15 steps (one part in 32768 per minute) blur it by a few minutes."""
    curve = ActionCurve(dia, peak)
    drops = [curve.remaining(m * 60) - curve.remaining((m + 1) * 60) for m in range(dia)]
    assert abs(drops.index(max(drops)) - peak) <= 5
    assert drops[peak] > drops[peak - 20] and drops[peak] > drops[peak + 20]


@given(st.integers(-30000, 60000), st.integers(0, ONE))
def test_on_board_rounds_away_from_zero_without_big_products(amount, fraction):
    got = on_board(amount, fraction)
    exact = amount * fraction / ONE
    assert abs(got) >= abs(exact) and abs(got - exact) < 1


def test_bad_curve_settings_are_refused_with_the_field():
    with pytest.raises(InputError, match="peak_min"):
        ActionCurve(360, 200)
    with pytest.raises(InputError, match="dia_min"):
        ActionCurve(120, 60)


@given(
    st.lists(st.tuples(st.integers(0, 5000), st.integers(50, 5000)), min_size=1, max_size=30),
    st.integers(0, 48 * 3600),
)
def test_history_is_the_sum_of_its_doses_on_the_curve(doses, later):
    """Doses joined within a bucket are stamped at their newest unit: IOB never less than the
    exact sum over the doses as given, and within the bucket's shift of it."""
    curve = ActionCurve(360, 75)
    history = DoseHistory(curve)
    t = 0
    given_at = []
    for gap, mu in doses:
        t += gap
        history.add(t, mu)
        given_at.append((t, mu))
    now = t + later
    exact = sum(mu * curve.remaining(now - at) / ONE for at, mu in given_at)
    shifted = sum(mu * curve.remaining(now - at - BUCKET_S) / ONE for at, mu in given_at)
    got = history.total(now)
    assert exact - 1e-9 <= got <= shifted + len(doses)


def test_history_keeps_every_dose_still_acting():
    """One dose per bucket for the whole longest action never overwrites a live dose."""
    curve = ActionCurve(600, 35, 30)
    history = DoseHistory(curve)
    per = (curve.end_s // BUCKET_S) + 1
    assert per < SLOTS
    for k in range(per):
        history.add(k * BUCKET_S, 100)
    now = (per - 1) * BUCKET_S
    assert history.total(now) == sum(curve.on_board(100, now - k * BUCKET_S) for k in range(per))
