"""CAL-1: the bolus calculator (pump/wizard.py): worked examples written from the Bolus Wizard
rules, and properties against an exact rational reference of the same rules."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pump import glucose, wizard

# settings of the worked examples: carb ratio 15 g/U, ISF 50 mg/dL/U, target 90-120 mg/dL,
# step 0.05 U, max bolus 10 U, minimum BG for a calculation 70 mg/dL
BASE = dict(carb_ratio_x10=150, isf=50, target_low=90, target_high=120, step_mu=50,
            max_bolus_mu=10000, min_bg=70)  # fmt: skip


def calc(carbs, bg, iob=0, **over):
    kw = dict(BASE, **over)
    return wizard.propose(carbs, bg, kw["carb_ratio_x10"], kw["isf"], kw["target_low"],
                          kw["target_high"], iob, kw["step_mu"], kw["max_bolus_mu"],
                          kw["min_bg"])  # fmt: skip


# (what it shows, carbs g, BG mg/dL, IOB mU, overrides, food, correction, iob used, suggested)
EXAMPLES = [
    ("meal and correction", 60, 200, 0, {}, 4000, 1600, 0, 5600),
    ("IOB takes from the correction", 60, 200, 1000, {}, 4000, 1600, 1000, 4600),
    ("IOB never takes from the food", 60, 200, 2500, {}, 4000, 1600, 1600, 4000),
    ("below range: negative correction, IOB ignored", 60, 80, 3000, {}, 4000, -200, 0, 3800),
    ("inside the range: no correction", 60, 100, 1000, {}, 4000, 0, 0, 4000),
    ("no BG entered: no correction", 60, 0, 1000, {}, 4000, 0, 0, 4000),
    ("correction only", 0, 220, 500, {}, 0, 2000, 500, 1500),
    ("below range, no carbs: nothing, not negative", 0, 75, 0, {}, 0, -300, 0, 0),
    ("rounded down to the pulse", 50, 0, 0, {"carb_ratio_x10": 120}, 4166, 0, 0, 4150),
    ("rounded down to a 0.5 U step", 50, 0, 0, {"carb_ratio_x10": 120, "step_mu": 500},
     4166, 0, 0, 4000),
    ("carb ratio with a decimal: 7.5 g/U", 45, 0, 0, {"carb_ratio_x10": 75}, 6000, 0, 0, 6000),
    ("correction rounds to less insulin", 0, 130, 0, {"isf": 30}, 0, 333, 0, 300),
]  # fmt: skip


@pytest.mark.parametrize("what,carbs,bg,iob,over,food,corr,used,suggested", EXAMPLES)
def test_worked_examples(what, carbs, bg, iob, over, food, corr, used, suggested):
    p = calc(carbs, bg, iob, **over)
    assert (p.food, p.correction, p.iob, p.suggested) == (food, corr, used, suggested), what
    assert not p.refused and not p.capped and p.reason == ""


def test_capped_at_max_bolus_and_says_so():
    p = calc(200, 0)  # 13.333 U of food
    assert p.suggested == 10000 and p.capped and p.reason == wizard.CAPPED
    assert p.food - p.rounding - p.cap == p.suggested


def test_cap_on_a_max_that_is_not_a_whole_step():
    p = calc(200, 0, step_mu=500, max_bolus_mu=9750)
    assert p.suggested == 9500 and p.capped


def test_refused_below_the_minimum_bg_with_the_reason():
    p = calc(60, 65)
    assert p.refused and p.reason == wizard.BG_BELOW_MIN and p.suggested == 0
    assert not calc(60, 70).refused  # the minimum itself is allowed


def test_bg_in_mmol_is_the_same_proposal():
    """11.1 mmol/L is 200 mg/dL once converted (x 18.016, rounded)."""
    mgdl = glucose.parse_value({"mmol": 11.1}, "bg")
    assert mgdl == 200 and calc(60, mgdl).suggested == calc(60, 200).suggested


def test_describe_names_every_part():
    text = wizard.describe(calc(60, 200, 1000))
    for part in ("food=4000", "corr=1600", "iob=1000", "iob_used=1000", "round=0", "cap=0",
                 "suggested=4600"):  # fmt: skip
        assert part in text


def reference(carbs, bg, iob, cr10, isf, lo, hi, step, mx, min_bg):
    """The rules in exact rationals (mU): None when refused."""
    if bg and bg < min_bg:
        return None
    food = Fraction(carbs * 10000, cr10)
    corr = Fraction((bg - hi) * 1000, isf) if bg > hi else (
        Fraction((bg - lo) * 1000, isf) if bg and bg < lo else Fraction(0))
    if corr > 0:
        corr -= min(iob, corr)
    total = max(Fraction(0), food + corr)
    return min(total, mx)


settings_st = st.fixed_dictionaries({
    "carb_ratio_x10": st.integers(10, 1500), "isf": st.integers(5, 400),
    "target_low": st.integers(70, 140), "target_high": st.integers(140, 200),
    "step_mu": st.sampled_from([25, 50, 100, 500, 1000]),
    "max_bolus_mu": st.integers(1, 500).map(lambda n: n * 50),
    "min_bg": st.integers(50, 90),
})  # fmt: skip
carbs_st = st.integers(0, 300)
bg_st = st.one_of(st.just(0), st.integers(20, 600))
iob_st = st.integers(0, 30000)


@given(carbs_st, bg_st, iob_st, settings_st)
def test_properties_against_the_rules(carbs, bg, iob, kw):
    p = calc(carbs, bg, iob, **kw)
    ref = reference(carbs, bg, iob, kw["carb_ratio_x10"], kw["isf"], kw["target_low"],
                    kw["target_high"], kw["step_mu"], kw["max_bolus_mu"], kw["min_bg"])  # fmt: skip
    if ref is None:
        assert p.refused and p.suggested == 0
        return
    assert 0 <= p.suggested <= kw["max_bolus_mu"]  # never above max, never below 0
    assert p.suggested % kw["step_mu"] == 0
    assert p.suggested <= ref  # rounding never rounds up
    assert ref - p.suggested < kw["step_mu"] + 2  # down by less than a step (+ mU floors)
    assert p.capped == (p.total - p.total % kw["step_mu"] > kw["max_bolus_mu"])
    if p.food + p.correction - p.iob >= 0:  # the parts add up to the suggestion
        assert p.food + p.correction - p.iob - p.rounding - p.cap == p.suggested
    assert 0 <= p.iob <= max(p.correction, 0)  # IOB only from a positive correction


@given(carbs_st, bg_st, iob_st, iob_st, settings_st)
def test_more_insulin_on_board_never_proposes_more(carbs, bg, iob_a, iob_b, kw):
    low, high = sorted((iob_a, iob_b))
    assert calc(carbs, bg, high, **kw).suggested <= calc(carbs, bg, low, **kw).suggested


@given(carbs_st, st.integers(20, 600), st.integers(20, 600), iob_st, settings_st)
def test_higher_bg_never_proposes_less(carbs, bg_a, bg_b, iob, kw):
    low, high = sorted((bg_a, bg_b))
    a, b = calc(carbs, low, iob, **kw), calc(carbs, high, iob, **kw)
    if not a.refused:
        assert b.suggested >= a.suggested
