"""The bolus calculator (CAL-1): the Medtronic Bolus Wizard's rules, in integer mU.

- food = carbs / carb ratio (the ratio of the time-of-day segment);
- correction = (BG - target high) / ISF above the target range, (BG - target
  low) / ISF below it (negative: it reduces the food part), 0 inside it or
  without a BG;
- insulin on board is subtracted from a positive correction only, never below
  0, and never from the food part;
- the sum (never below 0) is rounded DOWN to the bolus step;
- above max bolus it is capped, and the proposal says so;
- below the minimum BG for a calculation no bolus is proposed, with the reason.

The calculator proposes; it never delivers. A proposal is offered on the pump
and starts only on the user's long press (pump/button.py), like a button bolus.
"""

from pump.compat import const

BG_BELOW_MIN = "bg_below_min"
CAPPED = "capped_max_bolus"
_NO_BG = const(0)


class Proposal:
    """Every part of a proposal, in mU (mg/dL for the BG): the sum of the parts is the
    suggestion, ``food + correction - iob - rounding - cap == suggested`` unless refused
    or the correction below range took the total under 0 (then ``suggested`` is 0)."""

    def __init__(self):
        self.bg = 0  # mg/dL used (0: none entered)
        self.carbs = 0  # g
        self.food = 0
        self.correction = 0  # signed: negative below the target range
        self.iob_on_board = 0  # insulin on board when calculated
        self.iob = 0  # the part of it subtracted (from a positive correction only)
        self.total = 0  # food + correction - iob, never below 0
        self.rounding = 0  # taken off to reach a whole bolus step
        self.cap = 0  # taken off by the max bolus cap
        self.suggested = 0
        self.capped = False
        self.refused = False
        self.reason = ""  # "" or BG_BELOW_MIN or CAPPED


def propose(carbs_g, bg_mgdl, carb_ratio_x10, isf, target_low, target_high, iob_mu,
            step_mu, max_bolus_mu, min_bg):  # fmt: skip
    """A Proposal from the user's entry and the settings in force (all integers):
    ``carb_ratio_x10`` grams per unit in tenths, ``isf`` mg/dL per unit, ``bg_mgdl`` 0 when
    no BG was entered, ``iob_mu`` insulin on board (mU)."""
    p = Proposal()
    p.bg = bg_mgdl
    p.carbs = carbs_g
    p.iob_on_board = iob_mu if iob_mu > 0 else 0
    if bg_mgdl != _NO_BG and bg_mgdl < min_bg:
        p.refused = True
        p.reason = BG_BELOW_MIN
        return p
    p.food = carbs_g * 10000 // carb_ratio_x10
    if bg_mgdl == _NO_BG:
        p.correction = 0
    elif bg_mgdl > target_high:
        p.correction = (bg_mgdl - target_high) * 1000 // isf
    elif bg_mgdl < target_low:
        # floor division rounds a negative correction away from zero: less insulin
        p.correction = (bg_mgdl - target_low) * 1000 // isf
    if p.correction > 0:
        p.iob = p.iob_on_board if p.iob_on_board < p.correction else p.correction
    total = p.food + p.correction - p.iob
    p.total = total if total > 0 else 0
    p.suggested = p.total - p.total % step_mu
    p.rounding = p.total - p.suggested
    if p.suggested > max_bolus_mu:
        p.cap = p.suggested - max_bolus_mu
        p.suggested = max_bolus_mu - max_bolus_mu % step_mu
        p.rounding += max_bolus_mu % step_mu
        p.capped = True
        p.reason = CAPPED
    return p


def describe(p):
    """The proposal as event-log fields (integers, mU)."""
    return "bg=%d carbs=%d food=%d corr=%d iob=%d iob_used=%d round=%d cap=%d suggested=%d%s" % (
        p.bg, p.carbs, p.food, p.correction, p.iob_on_board, p.iob, p.rounding, p.cap,
        p.suggested, " reason=" + p.reason if p.reason else "",
    )  # fmt: skip


def segment_at(segments, minute_of_day):
    """The value of the [[start_minute, value], ...] segment holding ``minute_of_day``."""
    value = segments[0][1]
    for start, v in segments:
        if start > minute_of_day:
            break
        value = v
    return value
