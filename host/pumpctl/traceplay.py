"""Running the firmware against traces: record a scenario run, replay a trace.

Both go through the real firmware (firmware/main.py --record / --replay) on the
MicroPython Unix port, or on CPython when asked.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from array import array
from pathlib import Path

from pumpctl import eventlog, trace
from pumpctl.errors import UsageError
from pumpctl.firmware import import_firmware, run_firmware
from pumpctl.timefmt import hms

import_firmware()
from boards.emu.tracefile import BG_COLUMN, GRID_MS, OPEN_BIT, header_line  # noqa: E402
from pump.pressure import pa_to_counts  # noqa: E402  (the board's ADC conversion)

SCENARIO_FORMAT = "pumpscenario/1"


def scenario_for(tr: trace.Trace) -> dict:
    """The scenario a replay runs: the trace's settings, profile and host actions, and a
    ``cgm`` command for each reading of its bg_mgdl column, at the whole second of its row
    (after the metadata's actions of that second)."""
    meta = tr.meta
    settings = dict(meta.get("settings") or {})
    settings.setdefault("pulse_u", meta["pulse_u"])
    settings.setdefault("reservoir_u", meta["reservoir_u"])
    top = max(rate for _, rate in meta["basal_u_per_h"])
    if top > 3:
        settings.setdefault("max_basal_u_per_h", math.ceil(top))
        settings.setdefault("max_u_per_h", max(15, math.ceil(top) + 10))
        settings.setdefault("max_u_per_day", max(80, math.ceil(top * 24) + 20))
    return {
        "format": SCENARIO_FORMAT,
        "name": "replay of " + Path(tr.path).name,
        "duration": hms(tr.t_ms[-1], round_up=True),  # the last sample (a recording ends on one)
        "start_time": meta.get("start_time", "0:00"),
        "seed": meta.get("seed", 1),
        "connector_fitted": bool(meta.get("connector_fitted", "connector" in tr.columns)),
        "settings": settings,
        "basal_u_per_h": meta["basal_u_per_h"],
        "actions": list(meta.get("actions", [])) + [
            {"at": hms(t), "command": "cgm", "args": {"mgdl": mgdl}} for t, mgdl in tr.bg
        ],
    }


def gives_cgm(action: dict) -> bool:
    """Whether a scenario action gives the pump a CGM reading (docs/scenarios.md)."""
    if "cgm_mgdl" in action:
        return True
    if "bg_mgdl" in action or "bg_mmol" in action:
        return action.get("source") == "cgm"
    command, args = action.get("command"), action.get("args") or {}
    return command == "cgm" or (command == "bg" and args.get("source") == "cgm")


def grid(tr: trace.Trace) -> array:
    """The trace as the firmware replays it: per 100 ms, the row in force (sample and hold,
    the first row before it starts), as counts with OPEN_BIT for an open connector."""
    out = array("H")
    n = tr.t_ms[-1] // GRID_MS + 1
    i = 0
    rows = len(tr.t_ms)
    for k in range(n):
        t = k * GRID_MS
        while i + 1 < rows and tr.t_ms[i + 1] <= t:
            i += 1
        value = pa_to_counts(tr.pressure_pa[i])
        if tr.connector and tr.connector[i] == 0:
            value |= OPEN_BIT
        out.append(value)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def replay(path: Path, cpython: bool = False) -> tuple[trace.Trace, str]:
    """Replay trace ``path`` into the firmware; returns the trace and the event log text."""
    tr = trace.read(path)
    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp) / "replay.json"
        scen.write_text(json.dumps(scenario_for(tr)))
        samples = Path(tmp) / "replay.grid"
        samples.write_bytes(grid(tr).tobytes())
        try:
            proc = run_firmware(["--replay", str(samples), str(scen)], cpython)
        except UsageError as e:
            raise UsageError(f"{path}: metadata does not make a valid pump setup: {e}") from None
    return tr, proc.stdout


def record(scenario_path: Path, out: Path, cpython: bool = False) -> list[eventlog.Event]:
    """Run a scenario on the emulated plant and write what the sensor read to ``out``.

    The firmware writes the samples (and the CGM readings the pump reported, in the bg_mgdl
    column, when the scenario streams any); the host adds the scenario's settings and host
    actions to the metadata so that a replay runs the same delivery. Actions that gave CGM
    readings stay out of it then: the column carries them."""
    raw = json.loads(Path(scenario_path).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "trace.csv"
        proc = run_firmware(["--record", str(part), str(Path(scenario_path).resolve())], cpython)
        with part.open() as src, out.open("w") as dst:
            first = src.readline()
            meta = json.loads(first.split(" ", 2)[2])
            columns = src.readline()
            bg = BG_COLUMN in columns.rstrip("\n").split(",")
            meta["settings"] = raw.get("settings", {})
            meta["start_time"] = raw.get("start_time", "0:00")
            meta["actions"] = [a for a in raw.get("actions", [])
                               if "fault" not in a and not (bg and gives_cgm(a))]
            meta["faults"] = [a for a in raw.get("actions", []) if "fault" in a]
            dst.write(header_line(meta))
            dst.write(columns)
            for line in src:
                dst.write(line)
    return eventlog.parse(proc.stdout)
