"""Seeded, labelled traces: a scenario per fault kind, recorded through the firmware.

Generated traces come from closed-loop runs of the real firmware on the plant,
so a replay of one pulses at exactly the recorded times.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from pumpctl import traceplay
from pumpctl.timefmt import hms

LINE_FAULTS = ("occlusion", "kink", "disconnect", "leak")
SENSOR_FAULTS = ("stuck", "out_of_range", "noisy")
KINDS = ("nominal",) + LINE_FAULTS + SENSOR_FAULTS


def scenario(kind: str, rate_u_h: float, hours: float, onset_ms: int, seed: int,
             sample: bool = True, bolus_u: float = 0.0, clear_after_ms: int = 1800000,
             fault_args: dict | None = None) -> dict:
    """A scenario with one fault of ``kind`` at ``onset_ms`` (cleared and acknowledged later)."""
    duration = int(hours * 3600000)
    actions: list[dict] = []
    if bolus_u:
        # the fault comes a little after the bolus starts: "during a bolus"
        actions.append({"at": hms(max(0, onset_ms - 10000)), "command": "bolus",
                        "args": {"amount_u": bolus_u}})
    if kind != "nominal":
        fault = {"at": hms(onset_ms), "fault": kind}
        fault.update(fault_args or {})
        actions.append(fault)
        end = onset_ms + clear_after_ms
        if end < duration:
            actions.append({"at": hms(end), "fault": "sensor_ok" if kind in SENSOR_FAULTS
                            else "clear"})
            if end + 60000 < duration:
                actions.append({"at": hms(end + 60000), "command": "ack"})
    top = max(3, math.ceil(rate_u_h))
    return {
        "format": "pumpscenario/1",
        "name": f"gen {kind} {rate_u_h} U/h seed {seed}",
        "duration": hms(duration),
        "seed": seed,
        "settings": {"pulse_u": 0.05, "reservoir_u": 300, "max_basal_u_per_h": top,
                     "max_u_per_h": top + 15, "max_u_per_day": max(80, top * 24 + 30),
                     "max_bolus_u": max(10, math.ceil(bolus_u))},
        "basal_u_per_h": [[0, rate_u_h]],
        "plant": {"sample": seed} if sample else {},
        "actions": actions,
    }


def generate(out: Path, scen: dict, cpython: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.json"
        path.write_text(json.dumps(scen))
        traceplay.record(path, out, cpython)


SUITE_RATES = (0.05, 0.1, 1.0, 2.0, 5.0)


def suite(seed: int) -> list[tuple[str, dict]]:
    """(file name, scenario) for a labelled set: nominal and each fault kind at every rate of
    SUITE_RATES, plus each line fault during a 5 U bolus at 1 U/h; plants sampled per trace."""
    out = []
    n = 0
    for kind in KINDS:
        for rate in SUITE_RATES:
            interval = int(0.05 / rate * 3600000)
            onset = max(3600000, 8 * interval) + (seed * 7919 + n * 104729) % interval
            onset -= onset % 1000
            hours = (onset + 12 * interval + 1800000) / 3600000
            name = f"{kind}-{rate:g}uh-s{seed + n}.csv"
            out.append((name, scenario(kind, rate, hours, onset, seed + n,
                                       clear_after_ms=12 * interval + 600000)))
            n += 1
    for kind in LINE_FAULTS:
        name = f"{kind}-bolus-s{seed + n}.csv"
        out.append((name, scenario(kind, 1.0, 1.5, 3600000 + 20000, seed + n, bolus_u=5.0)))
        n += 1
    return out
