"""`pumpctl replay --plot FILE.png`: pressure, pulses, labels and alarms on one chart."""

from __future__ import annotations

from pathlib import Path

from pumpctl.errors import UsageError
from pumpctl.trace import Trace

LABEL_COLOURS = {"occlusion": "tab:red", "kink": "tab:orange", "disconnect": "tab:purple",
                 "leak": "tab:brown", "sensor": "tab:gray"}


def plot(tr: Trace, summary: dict, out: Path, title: str | None = None) -> None:
    """Draw the trace's pressure with the pulses, fault windows and alarms of ``summary``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {out}: expected a .png, .svg or .pdf file name")
    hours = [t / 3600000 for t in tr.t_ms]
    kpa = [pa / 1000 for pa in tr.pressure_pa]
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=110)
    ax.plot(hours, kpa, lw=0.6, color="tab:blue", label="pressure (sensor)")
    top = max(kpa) if kpa else 1.0
    bottom = min(kpa) if kpa else 0.0
    pulses = [t / 3600000 for t in summary["pulses_ms"]]
    if pulses:
        ax.vlines(pulses, bottom - 0.06 * (top - bottom + 1), bottom - 0.02 * (top - bottom + 1),
                  color="black", lw=0.5, label="pulses")
    end_h = tr.duration_ms / 3600000
    for label, onset, stop in tr.fault_windows():
        ax.axvspan(onset / 3600000, (stop if stop is not None else tr.duration_ms) / 3600000,
                   color=LABEL_COLOURS.get(label, "tab:olive"), alpha=0.15,
                   label=f"label: {label}")
    for alarm in summary["alarms"]:
        ax.axvline(alarm["t_ms"] / 3600000, color="red", lw=1.2, ls="--")
        ax.text(alarm["t_ms"] / 3600000, top, f" {alarm['kind']}", color="red", fontsize=8,
                va="top", rotation=90)
    ax.set_xlim(0, end_h)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("pressure (kPa)")
    ax.set_title(title or f"{Path(tr.path).name}: alarms dashed red")
    handles, names = ax.get_legend_handles_labels()
    seen = {}
    for h, n in zip(handles, names, strict=True):
        seen.setdefault(n, h)
    ax.legend(seen.values(), seen.keys(), loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
