"""What `pumpctl monitor` shows: the pump's state built from its frames (``PumpView``), the live
screen drawn from it (``render``) and the one-JSON-object-per-frame form (``frame_json``)."""

from __future__ import annotations

import json
import time
from collections import deque

from .. import proto
from ..firmware import import_firmware

import_firmware()
from pump.glucose import show as show_glucose  # noqa: E402
from pump.pressure import COUNTS_MAX, FULL_SCALE_PA  # noqa: E402

SPARK = "▁▂▃▄▅▆▇█"
PRIORITY_NAMES = {1: "low", 2: "medium", 3: "high"}
KEYS_HELP = (
    "keys: a = acknowledge alarm, b = request bolus (confirm on the pump: long press), "
    "s = status now, q = quit"
)


TREND_ARROWS = {"up3": "⇈", "up2": "↑", "up1": "↗", "flat": "→", "down1": "↘", "down2": "↓",
                "down3": "⇊"}


def glucose_line(st: dict) -> str:
    """BG (in the pump's unit), trend arrow, age, and insulin on board, from a status frame
    (``bg``: [mg/dL, age s, trend, unit]; ``iob_mu``)."""
    iob = st.get("iob_mu")
    iob_text = f"IOB {iob / 1000:.2f} U" if isinstance(iob, int) else "IOB -"
    bg = st.get("bg")
    if not isinstance(bg, list) or len(bg) != 4 or not isinstance(bg[0], int) or bg[0] <= 0 \
            or not isinstance(bg[1], int):
        return f"no recent BG, {iob_text}"
    mgdl, age, trend, unit = bg
    unit = unit if unit in ("mg/dL", "mmol/L") else "mg/dL"
    arrow = f" {TREND_ARROWS.get(trend, trend)}" if trend else ""
    return f"{show_glucose(mgdl, unit)} {unit}{arrow} ({age // 60} min ago), {iob_text}"


def counts_to_kpa(counts: int) -> float:
    return counts * FULL_SCALE_PA / COUNTS_MAX / 1000


def sparkline(values: list[float], width: int = 60) -> str:
    values = values[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / span * len(SPARK)))]
                   for v in values)


class PumpView:
    """The latest status plus a pressure history, as the screen shows it."""

    def __init__(self, history: int = 600):
        self.status: dict = {}
        self.pressure_kpa: deque[float] = deque(maxlen=history)
        self.events: deque[str] = deque(maxlen=8)
        self.notes: deque[str] = deque(maxlen=4)  # connection news, command results
        self.frames = 0
        self.bad_frames = 0

    def on_status(self, body: dict) -> None:
        self.status = body
        samples = body.get("samples")
        if isinstance(samples, list) and samples:
            self.pressure_kpa.extend(counts_to_kpa(c) for c in samples if isinstance(c, int))
        elif isinstance(body.get("pressure"), int):
            self.pressure_kpa.append(counts_to_kpa(body["pressure"]))

    def standing_alarms(self) -> list[list]:
        alarms = self.status.get("alarms")
        return alarms if isinstance(alarms, list) else []


def render(view: PumpView, port: str):
    """The live screen (a rich renderable) for ``view``."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    st = view.status
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()

    def units(key: str) -> str:
        v = st.get(key)
        return f"{v / 1000:.2f} U" if isinstance(v, int) else "-"

    mode = str(st.get("mode", "-"))
    grid.add_row("mode", Text(mode, style="green" if mode == "run" else "yellow"))
    rate = st.get("rate_mu_h")
    grid.add_row("basal", f"{rate / 1000:.2f} U/h ({st.get('rate_src', '-')})"
                 if isinstance(rate, int) else "-")
    if st.get("bolus_mu"):
        grid.add_row("bolus", f"{units('bolus_given_mu')} of {units('bolus_mu')}")
    else:
        grid.add_row("bolus", "none")
    grid.add_row("delivered 24 h", units("day_mu"))
    left = st.get("minutes_left")
    time_left = f"{left // 60} h {left % 60:02d} min" if isinstance(left, int) and left >= 0 \
        else "-"
    grid.add_row("reservoir", f"{units('reservoir_mu')}, {time_left} left")
    grid.add_row("battery", f"{st.get('battery_mv', '-')} mV")
    grid.add_row("glucose", glucose_line(st))
    kpa = list(view.pressure_kpa)
    grid.add_row("pressure", Text(f"{kpa[-1]:6.1f} kPa  " if kpa else "-", style="cyan")
                 + Text(sparkline(kpa)))
    alarms = view.standing_alarms()
    if alarms:
        for kind, prio, active in alarms:
            style = {3: "bold white on red", 2: "bold black on yellow"}.get(prio, "yellow")
            label = f"{kind} ({PRIORITY_NAMES.get(prio, prio)}" + \
                (")" if active else ", silenced)")
            grid.add_row("ALARM", Text(label, style=style))
    else:
        grid.add_row("alarms", Text("none", style="green"))
    for line in view.events:
        grid.add_row("event", Text(line, style="dim"))
    for note in view.notes:
        grid.add_row("", Text(note, style="magenta"))
    title = f"pump {st.get('board', '?')} fw {st.get('fw', '?')} build {st.get('build', '?')}"
    return Panel(grid, title=title, subtitle=f"{port}  {KEYS_HELP}")


def frame_json(frame: proto.Frame) -> str:
    """One frame as one JSON line (``pumpctl monitor --json``)."""
    return json.dumps({"kind": proto.KIND_NAMES.get(frame.kind, str(frame.kind)),
                       "seq": frame.seq, "t_host": round(time.time(), 3), "body": frame.body},
                      sort_keys=True)
