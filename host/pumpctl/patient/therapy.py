"""The patient's pump therapy: their settings on the pump, CGM readings in, meal boluses.

The pump is set up as the patient's clinician would from simglucose's Quest.csv: a flat
basal at the rate that holds their fasting steady state, their own carbohydrate ratio and
correction factor (the pump's default target range); bolus and daily limits wide enough for
their largest meal bolus. On a firmware with the therapy commands (glucose, calculator:
docs/therapy.md) the CGM reading goes to the pump every 5 min and the pump's own calculator
proposes each meal bolus, which the user confirms on the pump with the long press. On a
firmware without them, the user works the same rule out by hand (carbs / CR, plus
(CGM - 140) / CF above 140 mg/dL, simglucose's basal-bolus controller) and asks for a bolus.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pumpctl.firmware import import_firmware

if TYPE_CHECKING:
    from pumpctl.patient.sim import Config, Simulation

CONFIRM_PRESS_MS = 1500  # the long press that accepts an offered bolus (long_press_ms 1000)
HAND_TARGET_MGDL = 140


@cache
def firmware_names() -> tuple[frozenset[str], frozenset[str]]:
    """(host commands, settings) the firmware in this checkout knows."""
    import_firmware()
    from pump import commands, settings

    return frozenset(commands.NAMES), frozenset(settings.NAMES)


def has_calculator() -> bool:
    names = firmware_names()[0]
    return "wizard" in names and "cgm" in names


def scenario(config: Config) -> dict:
    """The pumpscenario/1 object the firmware boots with."""
    p = config.patient
    hours = config.minutes // 60 + 2
    settings = {"pulse_u": 0.05, "max_bolus_u": 25, "max_u_per_h": 30, "max_u_per_day": 200,
                "max_basal_u_per_h": 5}
    if "carb_ratio_g_per_u" in firmware_names()[1]:
        settings["carb_ratio_g_per_u"] = [[0, round(p.carb_ratio, 1)]]
        settings["isf_mgdl_per_u"] = [[0, round(p.correction)]]
    return {
        "format": "pumpscenario/1",
        "name": f"sim {p.name}",
        "seed": config.seed % 2**32,
        "duration": f"{hours}:00",
        "start_time": f"{config.start_tod // 60}:{config.start_tod % 60:02d}",
        "connector_fitted": False,  # an infusion set at the site: the disconnect is unseen
        "settings": settings,
        "basal_u_per_h": [[0, round(p.basal_u_per_h, 3)]],
        "plant": {"sample": config.seed % 2**32},
    }


def send_cgm(sim: Simulation, minute: int, reading: float) -> None:
    """The CGM stream: one reading every 5 minutes, in whole mg/dL."""
    sim.last_cgm = reading
    if has_calculator():
        sim.do(minute, {"command": "cgm", "args": {"mgdl": round(reading)}}, None)


def meal_bolus(sim: Simulation, minute: int, carbs_g: float) -> None:
    """The user boluses for the meal with the patient's carb ratio and correction factor."""
    if has_calculator():
        sim.do(minute, {"command": "wizard", "args": {"carbs_g": round(carbs_g)}},
               f"meal {carbs_g:g} g: the pump's calculator")
        if sim.offered:  # a refused proposal (glucose below 70, ...) gives no bolus
            sim.do(minute, {"press": CONFIRM_PRESS_MS}, "the user confirms the bolus on the pump")
        return
    p = sim.c.patient
    units = carbs_g / p.carb_ratio
    if sim.last_cgm > HAND_TARGET_MGDL:
        units += (sim.last_cgm - HAND_TARGET_MGDL) / p.correction
    units = min(int(units / 0.05) * 0.05, 25)
    if units >= 0.05:
        sim.do(minute, {"command": "bolus", "args": {"amount_u": round(units, 2)}},
               f"meal {carbs_g:g} g: bolus {units:.2f} U")
    else:
        sim.actions.append((minute, f"meal {carbs_g:g} g: no bolus"))


def set_changed(sim: Simulation, minute: int) -> None:
    """Tell the pump a new set is on (its set-change reminder starts again)."""
    if "set_changed" in firmware_names()[0]:
        sim.do(minute, {"command": "set_changed"}, None)
