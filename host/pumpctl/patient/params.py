"""The 30 virtual patients and the CGM sensor models: simglucose's tables, read once.

The data files (data/, MIT, see data/README.md) are simglucose 0.2.11's own. Names are
``adolescent#001``..``#010``, ``adult#001``..``#010``, ``child#001``..``#010``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
STATE_COLUMNS = tuple(f"x0_{i:2d}" for i in range(1, 14))  # the file spells "x0_ 1".."x0_13"


@dataclass(frozen=True)
class Patient:
    """One virtual patient: model parameters (by the file's names) and their therapy."""

    name: str
    p: dict[str, float]  # every numeric column of vpatient_params.csv
    x0: tuple[float, ...]  # the 13 initial states (fasting steady state)
    carb_ratio: float  # g of carbohydrate per U (Quest.csv CR)
    correction: float  # mg/dL per U (Quest.csv CF)
    tdi: float  # total daily insulin, U
    age: int

    @property
    def basal_u_per_h(self) -> float:
        """The basal rate that holds the fasting steady state: u2ss * BW / 6000 U/min."""
        return self.p["u2ss"] * self.p["BW"] / 100.0

    @property
    def group(self) -> str:
        return self.name.split("#")[0]


@dataclass(frozen=True)
class Sensor:
    name: str
    pacf: float
    gamma: float
    lam: float
    delta: float
    xi: float
    sample_min: int
    low: float
    high: float


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as f:
        return list(csv.DictReader(f))


@cache
def patients() -> dict[str, Patient]:
    """Every virtual patient by name, in the file's order."""
    quest = {row["Name"]: row for row in _rows("Quest.csv")}
    out = {}
    for row in _rows("vpatient_params.csv"):
        name = row["Name"]
        p = {k: float(v) for k, v in row.items() if k != "Name"}
        q = quest[name]
        out[name] = Patient(
            name=name,
            p=p,
            x0=tuple(p[c] for c in STATE_COLUMNS),
            carb_ratio=float(q["CR"]),
            correction=float(q["CF"]),
            tdi=float(q["TDI"]),
            age=int(q["Age"]),
        )
    return out


def patient(name: str) -> Patient:
    """The patient called ``name``; KeyError lists the known names."""
    table = patients()
    if name not in table:
        raise KeyError(f"unknown patient {name!r} (known: {names_summary()})")
    return table[name]


def names_summary() -> str:
    return "adolescent#001..#010, adult#001..#010, child#001..#010"


@cache
def sensors() -> dict[str, Sensor]:
    out = {}
    for row in _rows("sensor_params.csv"):
        out[row["Name"]] = Sensor(
            name=row["Name"],
            pacf=float(row["PACF"]),
            gamma=float(row["gamma"]),
            lam=float(row["lambda"]),
            delta=float(row["delta"]),
            xi=float(row["xi"]),
            sample_min=int(float(row["sample_time"])),
            low=float(row["min"]),
            high=float(row["max"]),
        )
    return out
