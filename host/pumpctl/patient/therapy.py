"""The patient's pump therapy: their settings on the pump, their meals, CGM in, boluses.

The pump is set up as a clinician starts a pump (docs/patients.md, "The patients' therapy"):

- basal: flat, the rate that holds the patient's own fasting steady state
  (simglucose's ``u2ss * BW / 6000`` U/min);
- carb ratio: the patient's own, Quest.csv's CR;
- correction factor (ISF): 1800 / TDI mg/dL/U, the usual rule for rapid-acting insulin, from
  the patient's total daily insulin in Quest.csv (Quest.csv's own CF is 1.2 to 4.1 times
  stronger than the rule, and with the pump's 100-120 target it overcorrects the children
  into hypoglycaemia: docs/patients.md gives the measured difference);
- the pump's default target range (100-120 mg/dL), IOB rules and rounding: the pump's own
  calculator proposes every meal bolus from the latest CGM reading, and the user confirms
  it on the pump with the long press;
- meals: simglucose's mean day (45, 70, 80 g at 07:00, 12:00, 18:00) per kg of body weight
  at the adult cohort's mean weight, so a 35 kg child eats 41 % of it: the model's meal and
  insulin inputs are both per kg, so equal g/kg is an equal challenge;
- bolus and daily limits wide enough for the largest meal bolus of the cohort.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pumpctl.patient.params import Patient, patients
from pumpctl.patient.spec import DEFAULT_MEALS, Meal, default_meals

if TYPE_CHECKING:
    from pumpctl.patient.sim import Config, Simulation

MEAL_LATE_MIN = 120  # a meal bolus the pump refused is still asked for up to this late
CONFIRM_PRESS_MS = 1500  # the long press that accepts an offered bolus (long_press_ms 1000)
RULES = "questCR-1800-per-kg-2"  # names these settings (the bench's results file keys on it)
ISF_RULE = 1800  # mg/dL/U x U/day: correction factor = ISF_RULE / TDI (rapid-acting insulin)


@dataclass(frozen=True)
class PumpSettings:
    """What the patient's pump is set to, and how big their meals are."""

    basal_u_per_h: float
    carb_ratio: float  # g/U, to 0.1 (the pump's resolution)
    isf: float  # mg/dL/U, whole
    meal_scale: float  # the patient's meals = the default day's x this

    def line(self) -> str:
        return (f"basal {self.basal_u_per_h:.2f} U/h, carb ratio {self.carb_ratio:g} g/U, "
                f"correction {self.isf:g} mg/dL/U")

    def meals_line(self) -> str:
        return " / ".join(f"{max(1, round(g * self.meal_scale))} g at {at}"
                          for at, g in DEFAULT_MEALS)


@cache
def adult_mean_bw() -> float:
    """The adult cohort's mean body weight (kg): the weight the default meals are for."""
    return statistics.fmean(p.p["BW"] for n, p in patients().items() if p.group == "adult")


def settings_for(p: Patient) -> PumpSettings:
    return PumpSettings(
        basal_u_per_h=round(p.basal_u_per_h, 3),
        carb_ratio=round(p.carb_ratio, 1),
        isf=round(ISF_RULE / p.tdi),
        meal_scale=p.p["BW"] / adult_mean_bw(),
    )


def sources() -> list[str]:
    """Where every setting comes from, for a report's header."""
    bw = adult_mean_bw()
    meals = "/".join(str(g) for _, g in DEFAULT_MEALS)
    times = ", ".join(t for t, _ in DEFAULT_MEALS)
    per_kg = "/".join(f"{g / bw:.2f}" for _, g in DEFAULT_MEALS)
    return [
        "basal: the patient's fasting steady state (u2ss x BW / 6000 U/min)",
        f"carb ratio: Quest.csv's CR; correction factor {ISF_RULE} / TDI mg/dL/U (TDI: "
        "Quest.csv); the pump's calculator with its target 100-120 mg/dL and IOB rules",
        f"meals: {meals} g at {times} for the adults' mean {bw:.1f} kg, scaled to the "
        f"patient's body weight ({per_kg} g/kg)",
    ]


def meals(p: Patient, minutes: int, start_tod: int = 0) -> list[Meal]:
    """The patient's default meals in a run of ``minutes`` starting at ``start_tod``."""
    return default_meals(minutes, start_tod, settings_for(p).meal_scale)


def scenario(config: Config) -> dict:
    """The pumpscenario/1 object the firmware boots with."""
    p = config.patient
    s = settings_for(p)
    hours = config.minutes // 60 + 2
    settings = {"pulse_u": 0.05, "max_bolus_u": 25, "max_u_per_h": 30, "max_u_per_day": 200,
                "max_basal_u_per_h": 5,
                "carb_ratio_g_per_u": [[0, s.carb_ratio]], "isf_mgdl_per_u": [[0, s.isf]]}
    return {
        "format": "pumpscenario/1",
        "name": f"sim {p.name}",
        "seed": config.seed % 2**32,
        "duration": f"{hours}:00",
        "start_time": f"{config.start_tod // 60}:{config.start_tod % 60:02d}",
        "connector_fitted": False,  # an infusion set at the site: the disconnect is unseen
        "settings": settings,
        "basal_u_per_h": [[0, s.basal_u_per_h]],
        "plant": {"sample": config.seed % 2**32},
    }


def send_cgm(sim: Simulation, minute: int, reading: float) -> None:
    """The CGM stream: one reading every 5 minutes, in whole mg/dL."""
    sim.do(minute, {"command": "cgm", "args": {"mgdl": round(reading)}}, None)


def meal_bolus(sim: Simulation, minute: int, carbs_g: float, late: str = "") -> None:
    """The user asks the pump's calculator for the meal (its proposal uses the latest CGM
    reading, the patient's carb ratio and correction factor, and insulin on board) and
    confirms it on the pump. A proposal refused for the glucose (below 70) gives no bolus; a
    bolus the pump will not start while an alarm stands is asked for again once the user has
    dealt with the alarm (``late_meal_bolus``)."""
    events = sim.do(minute, {"command": "wizard", "args": {"carbs_g": round(carbs_g)}}, None)
    blocked = _refusal(events)
    sim.actions.append((minute, f"meal {carbs_g:g} g{late}: the pump's calculator "
                                f"{_proposal(events)}"
                                + (f"; the pump refuses the bolus ({blocked})" if blocked else "")))
    if blocked and sim.meal_unbolused is None:
        sim.meal_unbolused = (minute, carbs_g)
    if sim.offered:
        sim.do(minute, {"press": CONFIRM_PRESS_MS}, "the user confirms the bolus on the pump")


def late_meal_bolus(sim: Simulation, minute: int) -> None:
    """After an alarm is dealt with: the bolus the pump refused for a meal eaten within the
    last MEAL_LATE_MIN minutes, asked for now (the calculator sees the glucose and IOB now)."""
    if sim.meal_unbolused is None:
        return
    at, carbs = sim.meal_unbolused
    sim.meal_unbolused = None
    if minute - at <= MEAL_LATE_MIN:
        meal_bolus(sim, minute, carbs, late=f" (eaten {minute - at} min ago)")


def rest_of_bolus(sim: Simulation, minute: int) -> None:
    """On the new set after a line alarm: the part of a bolus the alarm stopped (the pump
    shows how much of it was given), if it stopped within the last MEAL_LATE_MIN minutes, as
    pump users are taught after an interrupted bolus. The part given before the alarm is not
    given again (the user cannot tell how much of it reached them)."""
    if sim.bolus_stopped is None:
        return
    at, rest_mu = sim.bolus_stopped
    sim.bolus_stopped = None
    if minute - at > MEAL_LATE_MIN:
        return
    events = sim.do(minute, {"command": "bolus", "args": {"amount_u": rest_mu / 1000}}, None)
    blocked = _refusal(events)
    sim.actions.append((minute, f"the rest of the bolus the alarm stopped {minute - at} min ago: "
                                f"{rest_mu / 1000:.2f} U"
                                + (f"; the pump refuses it ({blocked})" if blocked else "")))
    if sim.offered:
        sim.do(minute, {"press": CONFIRM_PRESS_MS}, "the user confirms the bolus on the pump")


def _refusal(events: list[str]) -> str:
    """Why the pump would not start the offered bolus (an alarm, suspended...), or ''."""
    for ev in events:
        fields = ev.split()
        if len(fields) > 2 and fields[1] == "refused" and "what=bolus" in fields:
            return next((f[7:] for f in fields if f.startswith("reason=")), "refused")
    return ""


def _proposal(events: list[str]) -> str:
    """The calculator's proposal in words, from its event (docs/events.md: wizard)."""
    for ev in events:
        fields = ev.split()
        if len(fields) > 2 and fields[1] == "wizard" and "state=proposed" in fields:
            kv = dict(f.split("=", 1) for f in fields[2:] if "=" in f)
            parts = (f"(BG {kv.get('bg')}, food {int(kv.get('food', 0)) / 1000:.2f}, "
                     f"correction {int(kv.get('corr', 0)) / 1000:.2f}, "
                     f"IOB {int(kv.get('iob_used', 0)) / 1000:.2f} U)")
            if "reason" in kv and kv["reason"] != "capped_max_bolus":
                return f"proposes nothing: {kv['reason']} {parts}"
            return f"proposes {int(kv.get('suggested', 0)) / 1000:.2f} U {parts}"
    return "proposes nothing"


def set_changed(sim: Simulation, minute: int) -> None:
    """Tell the pump a new set is on (its set-change reminder starts again)."""
    sim.do(minute, {"command": "set_changed"}, None)
