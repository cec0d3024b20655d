"""AGP-style plot: glucose percentiles by time of day over the run, with the trace below."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pumpctl.errors import UsageError

PERCENTILES = (5, 25, 50, 75, 95)
BIN_MIN = 5


def check_path(out: Path, flag: str = "--plot") -> None:
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"{flag} {out}: expected a .png, .svg or .pdf file name")


def percentiles_by_time_of_day(glucose: list[float]) -> tuple[list[float], np.ndarray]:
    """(hours of day, array [percentile, bin]) from per-minute glucose."""
    values = np.asarray(glucose[: len(glucose) // BIN_MIN * BIN_MIN : BIN_MIN])
    bins = 1440 // BIN_MIN
    by_bin = [values[i::bins] for i in range(bins)]
    table = np.array([[np.percentile(b, q) if len(b) else np.nan for b in by_bin]
                      for q in PERCENTILES])
    return [i * BIN_MIN / 60 for i in range(bins)], table


def plot(glucose: list[float], out: Path, title: str, marks: list[tuple[int, str]]) -> None:
    """Percentile bands by time of day (top) and the whole trace with ``marks`` (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_path(out)
    hours, table = percentiles_by_time_of_day(glucose)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), dpi=110)
    top.axhspan(70, 180, color="tab:green", alpha=0.08, label="target 70-180")
    top.fill_between(hours, table[0], table[4], color="tab:blue", alpha=0.15, label="5-95 %")
    top.fill_between(hours, table[1], table[3], color="tab:blue", alpha=0.35, label="25-75 %")
    top.plot(hours, table[2], color="tab:blue", lw=1.5, label="median")
    for level in (54, 70, 180, 250):
        top.axhline(level, color="gray", lw=0.5, ls=":")
    top.set_xlim(0, 24)
    top.set_xticks(range(0, 25, 3))
    top.set_xlabel("time of day (h)")
    top.set_ylabel("glucose (mg/dL)")
    top.set_title(f"{title}: ambulatory glucose profile")
    top.legend(loc="upper left", fontsize=8)
    t_h = [m / 60 for m in range(len(glucose))]
    bottom.axhspan(70, 180, color="tab:green", alpha=0.08)
    bottom.plot(t_h, glucose, lw=0.8, color="tab:blue")
    for minute, label in marks:
        bottom.axvline(minute / 60, color="red", lw=0.8, ls="--")
        bottom.text(minute / 60, max(glucose), f" {label}", color="red", fontsize=7,
                    va="top", rotation=90)
    bottom.set_xlim(0, t_h[-1])
    bottom.set_xlabel("time since start (h)")
    bottom.set_ylabel("glucose (mg/dL)")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
