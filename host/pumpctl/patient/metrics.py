"""The standard consensus glucose metrics (Battelino et al., Diabetes Care 2019) of a trace.

Inputs are glucose values in mg/dL at an even sample interval; percentages are of samples.
LBGI/HBGI are Kovatchev's risk indices (f(G) = 1.509 (ln(G)^1.084 - 5.381), r = 10 f^2),
GMI = 3.31 + 0.02392 * mean (Bergenstal et al. 2018).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from math import log

RISK_CLIP = (20.0, 600.0)  # the range the risk function was fitted over


@dataclass(frozen=True)
class Metrics:
    tir: float  # % 70-180
    below_70: float
    below_54: float
    above_180: float
    above_250: float
    mean: float
    gmi: float
    cv: float
    lbgi: float
    hbgi: float
    hours_above_250: float
    peak: float
    nadir: float

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


def risk(glucose: float) -> tuple[float, float]:
    """(low risk, high risk) of one reading."""
    g = min(max(glucose, RISK_CLIP[0]), RISK_CLIP[1])
    f = 1.509 * (log(g) ** 1.084 - 5.381)
    r = 10.0 * f * f
    return (r, 0.0) if f < 0 else (0.0, r)


def compute(values: list[float], sample_min: float) -> Metrics:
    """Metrics of ``values`` (mg/dL) taken every ``sample_min`` minutes."""
    if not values:
        raise ValueError("no glucose values")
    n = len(values)

    def pct(test) -> float:
        return 100.0 * sum(1 for v in values if test(v)) / n

    mean = statistics.fmean(values)
    sd = statistics.pstdev(values)
    risks = [risk(v) for v in values]
    return Metrics(
        tir=pct(lambda v: 70 <= v <= 180),
        below_70=pct(lambda v: v < 70),
        below_54=pct(lambda v: v < 54),
        above_180=pct(lambda v: v > 180),
        above_250=pct(lambda v: v > 250),
        mean=mean,
        gmi=3.31 + 0.02392 * mean,
        cv=100.0 * sd / mean,
        lbgi=statistics.fmean(r[0] for r in risks),
        hbgi=statistics.fmean(r[1] for r in risks),
        hours_above_250=sum(1 for v in values if v > 250) * sample_min / 60.0,
        peak=max(values),
        nadir=min(values),
    )


def render(m: Metrics) -> str:
    """The metrics as the consensus report lists them."""
    return "\n".join([
        f"  time in range 70-180   {m.tir:5.1f} %   (target > 70 %)",
        f"  below 70 / below 54    {m.below_70:5.1f} % / {m.below_54:.1f} %   "
        "(targets < 4 % / < 1 %)",
        f"  above 180 / above 250  {m.above_180:5.1f} % / {m.above_250:.1f} %   "
        "(targets < 25 % / < 5 %)",
        f"  mean glucose           {m.mean:5.0f} mg/dL   GMI {m.gmi:.1f} %",
        f"  CV                     {m.cv:5.1f} %   (target <= 36 %)",
        f"  LBGI / HBGI            {m.lbgi:5.2f} / {m.hbgi:.2f}",
        f"  peak / nadir           {m.peak:5.0f} / {m.nadir:.0f} mg/dL;  "
        f"{m.hours_above_250:.1f} h above 250",
    ])
