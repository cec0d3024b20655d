"""`make patient-bench`: what each line fault costs the 30 virtual patients in glucose.

Tasks (each one independent, seeded, run in a process pool):
- fault: one patient, one fault, one seed. The fault starts at a random minute of the day;
  the run starts 2 h before it at the patient's steady state, with the day's three meals; the
  three detection arms fork at its onset (pumpctl.patient.sim): this firmware, a
  commercial occlusion alarm after 3 U pushed, no detection. Every arm runs HORIZON_H
  hours past the onset; the set is changed anyway at a random point of its 3-day life.
- baseline: one patient, one seed, one day with meals and no fault (TIR, hypos).
- fasting: one patient, fasting, an occlusion nobody detects (Klonoff et al. 2024).
- overnight: one patient, fasting overnight, with and without a 2 h basal suspension at a
  random time after 23:30 (Sherr et al. 2014).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from pumpctl.patient import metrics, therapy
from pumpctl.patient.model import PatientModel
from pumpctl.patient.params import patient, patients
from pumpctl.patient.sim import DETECTIONS, Config, Simulation, fault_outcomes
from pumpctl.patient.spec import Fault

HORIZON_H = 8
WARMUP_MIN = 120  # the run starts 2 h before the onset, the patient at steady state
SET_LIFE_MIN = 72 * 60
FAULTS = ("occlusion", "disconnect", "leak")
FAULT_NAMES = {"occlusion": "occlusion", "disconnect": "disconnect", "leak": "leak 50%"}
ARM_NAMES = {"firmware": "this firmware", "commercial": "commercial latency",
             "none": "none until set change"}
HYPO_TARGET_PCT = 4  # international consensus: < 4 % of the time below 70 mg/dL
FASTING_ONSET_MIN = 60
FASTING_H = 24
# Sherr et al. 2014: fasting from 21:00, 2 h zero basal at a random time after 23:30,
# fasting glucose in the morning (here 07:00); the run starts at 21:00
SHERR_SUSPEND_AFTER_MIN = 150
SHERR_SPREAD_MIN = 180
SHERR_MORNING_MIN = 600
SHERR_SUSPEND_MIN = 120


def task_rng(*key: object) -> random.Random:
    """A generator seeded by the task's identity (string seeds hash the same everywhere)."""
    return random.Random("/".join(str(k) for k in key))


def fault_task(name: str, kind: str, seed: int) -> dict:
    rng = task_rng("fault", name, kind, seed)
    onset_tod = rng.randrange(1440)
    set_change = WARMUP_MIN + rng.randrange(1, SET_LIFE_MIN)
    sim_seed = rng.randrange(2**32)
    onset = WARMUP_MIN
    minutes = onset + HORIZON_H * 60
    start = (onset_tod - WARMUP_MIN) % 1440
    p = patient(name)
    config = Config(p, minutes, therapy.meals(p, minutes, start), [Fault(kind, onset)],
                    seed=sim_seed, start_tod=start)
    sim = Simulation(config)
    sim.advance(onset)
    arms = {}
    for arm in DETECTIONS:
        if arm == "commercial" and kind != "occlusion":
            continue  # no disconnect or leak alarm: the same run as "none" (a third saved)
        result = sim.fork(arm, set_change).run()
        (out,) = fault_outcomes(result)
        arms[arm] = {
            "hours_above_250": out.hours_above_250, "peak": out.peak,
            "alarm_min": None if out.alarm_min is None else out.alarm_min - onset,
            "fixed_min": None if out.fixed_min is None else out.fixed_min - onset,
        }
    arms.setdefault("commercial", arms["none"])
    sim.link.close()
    return {"task": "fault", "patient": name, "fault": kind, "seed": seed, "onset": onset_tod,
            "arms": arms}


def baseline_task(name: str, seed: int) -> dict:
    rng = task_rng("baseline", name, seed)
    p = patient(name)
    config = Config(p, 1440, therapy.meals(p, 1440), seed=rng.randrange(2**32))
    result = Simulation(config).run()
    m = metrics.compute(result.glucose_every(5), 5)
    return {"task": "baseline", "patient": name, "seed": seed, "metrics": m.to_json()}


def fasting_task(name: str) -> dict:
    minutes = FASTING_ONSET_MIN + FASTING_H * 60
    config = Config(patient(name), minutes, [], [Fault("occlusion", FASTING_ONSET_MIN)],
                    seed=task_rng("fasting", name).randrange(2**32), detection="none")
    g = Simulation(config).run().glucose
    after = g[FASTING_ONSET_MIN:]

    def first_above(level: float) -> float | None:
        return next((i / 60 for i, v in enumerate(after) if v >= level), None)

    return {"task": "fasting", "patient": name, "g0": after[0], "g60": after[60],
            "g240": after[240], "h300": first_above(300), "h400": first_above(400)}


def overnight_task(name: str) -> dict:
    rng = task_rng("overnight", name)
    start = SHERR_SUSPEND_AFTER_MIN + rng.randrange(SHERR_SPREAD_MIN)
    seed = rng.randrange(2**32)
    morning = {}
    for label, commands in (
        ("control", []),
        ("suspend", [(start, {"command": "suspend"}),
                     (start + SHERR_SUSPEND_MIN, {"command": "resume"})]),
    ):
        config = Config(patient(name), SHERR_MORNING_MIN + 1, [], seed=seed, commands=commands,
                        detection="none", start_tod=21 * 60)
        morning[label] = Simulation(config).run().glucose[SHERR_MORNING_MIN]
    return {"task": "overnight", "patient": name, "suspend_min": start, **morning}


def model_only_validation() -> list[dict]:
    """The fasting and overnight tasks on the patient model alone, for all 30 in seconds: the
    insulin the pump would give (its basal, none while interrupted) straight into the depot.
    A cross-check of the co-simulated figures (the same shapes without the pump's pulses)."""
    out = []
    for name, p in patients().items():
        basal = p.basal_u_per_h / 60
        model = PatientModel(p)
        g = [model.glucose]
        for minute in range(FASTING_ONSET_MIN + FASTING_H * 60):
            model.step(0.0, basal if minute < FASTING_ONSET_MIN else 0.0)
            g.append(model.glucose)
        after = g[FASTING_ONSET_MIN:]
        out.append({"task": "fasting", "patient": name, "g0": after[0], "g60": after[60],
                    "g240": after[240],
                    "h300": next((i / 60 for i, v in enumerate(after) if v >= 300), None),
                    "h400": next((i / 60 for i, v in enumerate(after) if v >= 400), None)})
        start = SHERR_SUSPEND_AFTER_MIN + task_rng("overnight", name).randrange(SHERR_SPREAD_MIN)
        morning = {}
        for label, cut in (("control", False), ("suspend", True)):
            model = PatientModel(p)
            for minute in range(SHERR_MORNING_MIN):
                off = cut and start <= minute < start + SHERR_SUSPEND_MIN
                model.step(0.0, 0.0 if off else basal)
            morning[label] = model.glucose
        out.append({"task": "overnight", "patient": name, "suspend_min": start, **morning})
    return out


def run_task(task: str, patient: str, fault: str = "", seed: int = 0,
             therapy: str = "") -> dict:
    """One campaign task (docs/campaigns.md): parameters in, a JSON outcome out.
    ``therapy`` names the settings rules (therapy.RULES): it is part of the task's key, so
    a results file from other settings is not taken for this one."""
    if task == "fault":
        return fault_task(patient, fault, seed)
    if task == "baseline":
        return baseline_task(patient, seed)
    if task == "fasting":
        return fasting_task(patient)
    return overnight_task(patient)


def tasks(seeds: int, names: list[str] | None = None) -> list[dict]:
    """Every task of the bench, one patient-fault-seed run per fault task, seed by seed: the
    cohort's baseline days (they say whether the settings are sensible), its faults, and after
    the first seed the co-simulated validations. A run cut short covers the whole cohort with
    the seeds it finished."""
    names = names or list(patients())
    rules = {"therapy": therapy.RULES}
    out: list[dict] = []
    for s in range(1, seeds + 1):
        out += [{"task": "baseline", "patient": n, "seed": s, **rules} for n in names]
        out += [{"task": "fault", "patient": n, "fault": k, "seed": s, **rules}
                for n in names for k in FAULTS]
        if s == 1:
            out += [{"task": t, "patient": n, **rules}
                    for t in ("fasting", "overnight") for n in names]
    return out


# --- the report ---------------------------------------------------------------------


@dataclass
class ArmRow:
    fault: str
    arm: str
    hours: list[float]
    peaks: list[float]
    alarms: list[int]
    runs: int


def _med_worst(values: list[float], fmt: str,
               worst: Callable[[list[float]], float] = max) -> str:
    """'median / worst' of ``values``, the one cell of every table here (worst: max or min)."""
    if not values:
        return "-"
    return f"{statistics.median(values):{fmt}} / {worst(values):{fmt}}"


def fault_rows(results: list[dict]) -> list[ArmRow]:
    rows = []
    for kind in FAULTS:
        runs = [r for r in results if r["task"] == "fault" and r["fault"] == kind]
        for arm in DETECTIONS:
            cells = [r["arms"][arm] for r in runs]
            rows.append(ArmRow(kind, arm, [c["hours_above_250"] for c in cells],
                               [c["peak"] for c in cells],
                               [c["alarm_min"] if arm == "firmware" else c["fixed_min"]
                                for c in cells if (c["alarm_min"] if arm == "firmware"
                                                   else c["fixed_min"]) is not None],
                               len(cells)))
    return rows


def render_faults(rows: list[ArmRow]) -> str:
    head = (f"{'fault':<12} {'detection':<22} {'h > 250 mg/dL':>15} {'peak mg/dL':>13} "
            f"{'alarm or fix, min after onset':>30}")
    lines = [head, "-" * len(head)]
    for row in rows:
        fixed = (f"{len(row.alarms)}/{row.runs}, median {statistics.median(row.alarms):.0f}"
                 if row.alarms else f"0/{row.runs}")
        lines.append(f"{FAULT_NAMES[row.fault]:<12} {ARM_NAMES[row.arm]:<22} "
                     f"{_med_worst(row.hours, '.1f'):>15} {_med_worst(row.peaks, '.0f'):>13} "
                     f"{fixed:>30}")
    return "\n".join(lines)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "n/a (0 h)"


def render_ratio(rows: list[ArmRow]) -> str:
    """The target (docs/requirements.md, Targets): firmware hours above 250 <= 25 % of the
    commercial detector's: medians, worst runs and cohort totals (medians are often 0 h)."""
    lines = []
    for kind in FAULTS:
        fw = next(r for r in rows if r.fault == kind and r.arm == "firmware")
        com = next(r for r in rows if r.fault == kind and r.arm == "commercial")
        if not fw.hours:
            continue
        cells = ", ".join(f"{name} {_pct(f(fw.hours), f(com.hours))}" for name, f in
                          (("median", statistics.median), ("worst", max), ("cohort total", sum)))
        lines.append(f"  {FAULT_NAMES[kind]:<11} hours above 250, firmware / commercial: "
                     f"{cells}  (target <= 25 %)")
    return "\n".join(lines)


def render_baseline(results: list[dict]) -> str:
    """The cohort's day without faults, per group: is the therapy clinically sensible?"""
    base = [r for r in results if r["task"] == "baseline"]
    if not base:
        return ""
    lines = [f"Baseline day, no fault ({len(base)} patient-days), the pump set up as:",
             *(f"  - {line}" for line in therapy.sources()),
             f"  {'group':<11} {'TIR median / worst':>19} {'<70 median / worst':>19} "
             f"{'<54 worst':>10} {'days <70 > 4 %':>15} {'days with <54':>14} "
             f"{'mean glucose':>13}"]
    for group in ("adult", "adolescent", "child"):
        ms = [r["metrics"] for r in base if r["patient"].startswith(group + "#")]
        if not ms:
            continue
        lines.append(
            f"  {group:<11} {_med_worst([m['tir'] for m in ms], '.1f', min):>19} "
            f"{_med_worst([m['below_70'] for m in ms], '.1f'):>19} "
            f"{max(m['below_54'] for m in ms):>10.1f} "
            f"{sum(1 for m in ms if m['below_70'] > HYPO_TARGET_PCT):>9}/{len(ms):<5} "
            f"{sum(1 for m in ms if m['below_54'] > 0):>8}/{len(ms):<5} "
            f"{statistics.median(m['mean'] for m in ms):>10.0f}")
    return "\n".join(lines)


def render_validation(results: list[dict]) -> str:
    fasting = [r for r in results if r["task"] == "fasting"]
    night = [r for r in results if r["task"] == "overnight"]
    lines = []
    if fasting:
        rise = statistics.fmean((r["g240"] - r["g60"]) / 3 for r in fasting)
        h300 = [r["h300"] for r in fasting if r["h300"] is not None]
        h400 = [r["h400"] for r in fasting if r["h400"] is not None]
        n = len(fasting)
        lines += [
            f"suspension rise: {rise:.0f} mg/dL/h   (60 to 240 min after an undetected "
            f"occlusion, fasting cohort of {n}; clinical: 37 mg/dL/h, Klonoff et al. 2024, "
            "8 studies)",
            f"  time to 300 mg/dL: mean {statistics.fmean(h300):.1f} h, over the "
            f"{len(h300)}/{n} that reached it in {FASTING_H} h (clinical 5.8 h)"
            if h300 else
            f"  time to 300 mg/dL: not reached in {FASTING_H} h (clinical 5.8 h)",
            f"  time to 400 mg/dL: mean {statistics.fmean(h400):.1f} h, over the "
            f"{len(h400)}/{n} that reached it in {FASTING_H} h (clinical 8.5 h)"
            if h400 else
            f"  time to 400 mg/dL: not reached in {FASTING_H} h (clinical 8.5 h)",
            f"  starting glucose (the patients' fasting steady state): mean "
            f"{statistics.fmean(r['g0'] for r in fasting):.0f} mg/dL",
        ]
    if night:
        sus = statistics.fmean(r["suspend"] for r in night)
        ctl = statistics.fmean(r["control"] for r in night)
        lines.append(f"overnight 2 h suspension: fasting morning glucose {sus:.0f} vs "
                     f"{ctl:.0f} mg/dL (+{sus - ctl:.0f})   (clinical: 191 vs 141 mg/dL, +50, "
                     "Sherr et al. 2014)")
    return "\n".join(lines)


def plot(rows: list[ArmRow], out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
    colours = {"firmware": "tab:green", "commercial": "tab:orange", "none": "tab:red"}
    for ax, field, label in ((axes[0], "hours", f"hours above 250 mg/dL in {HORIZON_H} h"),
                             (axes[1], "peaks", "peak glucose (mg/dL)")):
        pos = 0
        ticks, names = [], []
        for kind in FAULTS:
            for arm in DETECTIONS:
                row = next(r for r in rows if r.fault == kind and r.arm == arm)
                if not row.runs:  # a partial report: no run of this fault yet
                    pos += 1
                    continue
                box = ax.boxplot([getattr(row, field)], positions=[pos], widths=0.7,
                                 patch_artist=True)
                box["boxes"][0].set_facecolor(colours[arm])
                pos += 1
            ticks.append(pos - 2)
            names.append(FAULT_NAMES[kind])
            pos += 1
        ax.set_xticks(ticks, names)
        ax.set_ylabel(label)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[a]) for a in DETECTIONS]
    axes[0].legend(handles, [ARM_NAMES[a] for a in DETECTIONS], fontsize=8, loc="upper left")
    fig.suptitle("Glucose cost of line faults, 30 UVA/Padova virtual patients")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
