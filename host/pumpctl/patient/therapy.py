"""The patient's pump therapy: their settings on the pump, CGM readings in, meal boluses.

The pump is set up as the patient's clinician would from simglucose's Quest.csv: a flat
basal at the rate that holds their fasting steady state, their own carbohydrate ratio and
correction factor; bolus and daily limits wide enough for their largest meal bolus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pumpctl.firmware import import_firmware

if TYPE_CHECKING:
    from pumpctl.patient.sim import Config, Simulation

TARGET_MGDL = 140  # simglucose's basal-bolus controller target (corrections above it)


def firmware_commands() -> tuple[str, ...]:
    import_firmware()
    from pump import commands

    return tuple(commands.NAMES)


def scenario(config: Config) -> dict:
    """The pumpscenario/1 object the firmware boots with."""
    p = config.patient
    hours = config.minutes // 60 + 2
    return {
        "format": "pumpscenario/1",
        "name": f"sim {p.name}",
        "seed": config.seed % 2**32,
        "duration": f"{hours}:00",
        "start_time": f"{config.start_tod // 60}:{config.start_tod % 60:02d}",
        "connector_fitted": False,  # an infusion set at the site: the disconnect is unseen
        "settings": {"pulse_u": 0.05, "max_bolus_u": 25, "max_u_per_h": 30,
                     "max_u_per_day": 200, "max_basal_u_per_h": 5},
        "basal_u_per_h": [[0, round(p.basal_u_per_h, 3)]],
        "plant": {"sample": config.seed % 2**32},
    }


def send_cgm(sim: Simulation, minute: int, reading: float) -> None:
    """The CGM stream: one reading every 5 minutes (nothing to send before the pump has
    glucose ingestion)."""
    sim.last_cgm = reading


def meal_bolus(sim: Simulation, minute: int, carbs_g: float) -> None:
    """The user boluses for the meal with the patient's carb ratio and correction factor."""
    p = sim.c.patient
    bg = getattr(sim, "last_cgm", None)
    units = carbs_g / p.carb_ratio
    if bg is not None and bg > TARGET_MGDL:
        units += (bg - TARGET_MGDL) / p.correction
    units = int(units / 0.05) * 0.05
    if units >= 0.05:
        sim.do(minute, {"command": "bolus", "args": {"amount_u": round(min(units, 25), 2)}},
               f"meal {carbs_g:g} g: bolus {units:.2f} U")
    else:
        sim.actions.append((minute, f"meal {carbs_g:g} g: no bolus"))


def set_changed(sim: Simulation, minute: int) -> None:
    """Tell the pump a new set is on (nothing to tell before the pump tracks set changes)."""
