"""A readable summary of an emulated run, computed from its event log alone.

Programmed basal is integrated here, independently of the firmware's own
accumulator, from the `basal rate=` events (exact rational arithmetic), and
compared with the basal pulses at every event: the largest gap is the DEL-1
figure printed in the summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

from pumpctl.eventlog import Event
from pumpctl.timefmt import time_of_day

MS_PER_H = 3_600_000
TIMELINE_KINDS = (
    "bolus",
    "temp",
    "mode",
    "alarm",
    "refused",
    "overrun",
    "miss",
    "inject",
    "profile",
    "bg",
    "wizard",
    "prime",
)


@dataclass
class Summary:
    name: str
    interpreter: str
    duration_ms: int
    pulse_mu: int
    delivered_mu: int = 0
    basal_mu: int = 0
    bolus_mu: int = 0
    programmed_basal_mu: float = 0.0
    max_basal_error_mu: float = 0.0
    reservoir_start_mu: int = 0
    reservoir_end_mu: int = 0
    pulses: int = 0  # delivered (basal and bolus); a prime's pulses are in primed_mu
    primed_mu: int = 0  # pushed to fill a new set's cannula (DEL-7): not delivered
    boluses: list[dict] = field(default_factory=list)
    alarms: list[dict] = field(default_factory=list)
    overruns: int = 0
    misses: int = 0
    events: int = 0
    wall_s: float = 0.0
    timeline: list[tuple[int, str]] = field(default_factory=list)
    tod_offset_ms: int = 0
    glucose: dict = field(default_factory=dict)  # readings by source, range, time in range
    proposals: list[dict] = field(default_factory=list)  # the calculator's, and their outcome

    def to_json(self) -> dict:
        data = asdict(self)
        data["timeline"] = [{"t_ms": t, "text": text} for t, text in self.timeline]
        return data


def u(mu: float) -> str:
    return f"{mu / 1000:.3f} U"


def describe(ev: Event) -> str | None:
    f = ev.fields
    if ev.kind == "bolus" and f.get("state") == "started":
        extra = "" if f.get("kind") == "normal" else f" over {ev.int('duration') // 60000} min"
        return f"bolus {u(ev.int('amount'))}{extra} started ({f.get('src')})"
    if ev.kind == "bolus":
        return f"bolus ended: {u(ev.int('delivered'))} of {u(ev.int('amount'))} ({f.get('reason')})"
    if ev.kind == "prime" and f.get("state") == "started":
        return f"prime {u(ev.int('amount'))} started ({f.get('src')})"
    if ev.kind == "prime":
        return f"prime ended: {u(ev.int('delivered'))} of {u(ev.int('amount'))} ({f.get('reason')})"
    if ev.kind == "temp" and f.get("state") == "started":
        what = f"{f['percent']} %" if ev.int("percent") >= 0 else f"{ev.int('rate') / 1000:.2f} U/h"
        return f"temp basal {what} for {ev.int('duration') // 60000} min"
    if ev.kind == "temp":
        return f"temp basal {f.get('state')}"
    if ev.kind == "mode":
        return f"mode -> {f.get('mode')} ({f.get('reason')})"
    if ev.kind == "alarm":
        return f"ALARM {f.get('kind')} {f.get('state')}" + (
            f" ({f['prio']})" if "prio" in f else ""
        )
    if ev.kind == "refused":
        return f"refused {f.get('what')}: {f.get('reason')}"
    if ev.kind in ("overrun", "miss"):
        return f"{ev.kind} in task {f.get('task')}"
    if ev.kind == "inject":
        return f"(scenario) inject {f.get('kind')}"
    if ev.kind == "profile":
        return f"basal profile replaced ({f.get('segments')} segments)"
    if ev.kind == "bg" and f.get("src") != "cgm":  # the CGM stream is summed up, not listed
        return f"BG {f.get('mgdl')} mg/dL ({f.get('src')}), IOB {u(ev.int('iob'))}"
    if ev.kind == "wizard" and f.get("state") == "proposed":
        return describe_proposal(ev)
    if ev.kind == "wizard":
        return f"calculator proposal {f.get('id')} {f.get('state')}: {u(ev.int('amount'))}"
    return None


def describe_proposal(ev: Event) -> str:
    """A calculator proposal with its parts: food + correction - IOB - rounding - cap."""
    f = ev.fields
    bg = f"BG {f['bg']}" if ev.int("bg") else "no BG"
    if f.get("reason") == "bg_below_min":
        return f"calculator {f.get('id')}: {bg}, {f.get('carbs')} g: refused, BG below the minimum"
    text = (f"calculator {f.get('id')}: {bg}, {f.get('carbs')} g: food {u(ev.int('food'))}"
            f" + correction {u(ev.int('corr'))} - IOB {u(ev.int('iob_used'))}"
            f" (of {u(ev.int('iob'))} on board) = {u(ev.int('suggested'))}")
    return text + (" CAPPED at max bolus" if f.get("reason") == "capped_max_bolus" else "")


def summarize(events: list[Event], name: str, interpreter: str, wall_s: float) -> Summary:
    boot = next((e for e in events if e.kind == "boot"), None)
    pulse = boot.int("pulse") if boot else 50
    s = Summary(name=name, interpreter=interpreter, duration_ms=0, pulse_mu=pulse, wall_s=wall_s)
    if boot:
        s.reservoir_start_mu = boot.int("reservoir")
        s.tod_offset_ms = boot.int("tod")
    rate = 0
    last_t = 0
    programmed = Fraction(0)
    basal = 0
    worst = Fraction(0)
    for ev in events:
        programmed += Fraction(rate * (ev.t_ms - last_t), MS_PER_H)
        last_t = ev.t_ms
        if ev.kind == "basal":
            rate = ev.int("rate")
        elif ev.kind == "pulse" and ev.fields.get("src") == "prime":
            s.primed_mu += pulse
        elif ev.kind == "pulse":
            s.pulses += 1
            if ev.fields.get("src") == "basal":
                # compare just before and just after the pulse: both must stay within a pulse
                worst = max(worst, abs(basal - programmed))
                basal += pulse
                worst = max(worst, abs(basal - programmed))
        elif ev.kind == "bolus":
            if ev.fields.get("state") == "started":
                s.boluses.append(
                    {
                        "id": ev.int("id"),
                        "t_ms": ev.t_ms,
                        "amount_mu": ev.int("amount"),
                        "kind": ev.fields.get("kind"),
                        "src": ev.fields.get("src"),
                    }
                )
            else:
                for b in s.boluses:
                    if b["id"] == ev.int("id"):
                        b.update(delivered_mu=ev.int("delivered"), end=ev.fields.get("reason"))
        elif ev.kind == "alarm":
            s.alarms.append({"t_ms": ev.t_ms, **ev.fields})
        elif ev.kind == "bg":
            src = ev.fields.get("src", "?")
            s.glucose.setdefault("readings", {}).setdefault(src, 0)
            s.glucose["readings"][src] += 1
            s.glucose.setdefault("mgdl", []).append(ev.int("mgdl"))
        elif ev.kind == "wizard":
            if ev.fields.get("state") == "proposed":
                s.proposals.append({"t_ms": ev.t_ms, **ev.fields})
            else:
                for p in s.proposals:
                    if p["id"] == ev.fields.get("id"):
                        p["outcome"] = ev.fields.get("state")
                        p["accepted_mu"] = ev.int("amount") if p["outcome"] == "accepted" else 0
        elif ev.kind == "end":
            s.duration_ms = ev.t_ms
            s.delivered_mu = ev.int("delivered")
            s.basal_mu = ev.int("basal")
            s.bolus_mu = ev.int("bolus")
            s.reservoir_end_mu = ev.int("reservoir")
            s.overruns = ev.int("overruns")
            s.misses = ev.int("misses")
        if ev.kind in TIMELINE_KINDS:
            text = describe(ev)
            if text:
                s.timeline.append((ev.t_ms, text))
    s.events = len(events)
    values = s.glucose.pop("mgdl", [])
    if values:
        s.glucose.update(min_mgdl=min(values), max_mgdl=max(values),
                         mean_mgdl=round(sum(values) / len(values)),
                         in_range_pct=round(100 * sum(70 <= v <= 180 for v in values)
                                            / len(values)))
    s.programmed_basal_mu = float(programmed)
    s.max_basal_error_mu = float(worst)
    return s


def render(s: Summary) -> str:
    hours = s.duration_ms / MS_PER_H
    lines = [f"Scenario: {s.name}  ({hours:g} h virtual, on {s.interpreter})", "", "Timeline:"]
    timeline = [f"  {time_of_day(t, s.tod_offset_ms)}  {text}" for t, text in s.timeline]
    lines += timeline or ["  (nothing)"]
    bolus_prog = sum(b["amount_mu"] for b in s.boluses)
    within = s.max_basal_error_mu < s.pulse_mu
    lines += [
        "",
        "Delivery:",
        f"  delivered          {u(s.delivered_mu)}  = basal {u(s.basal_mu)} + bolus {u(s.bolus_mu)}"
        f"  ({s.pulses} pulses of {u(s.pulse_mu)})",
        f"  programmed basal   {u(s.programmed_basal_mu)}  (integrated from the rate events)",
        f"  basal gap (DEL-1)  at most {u(s.max_basal_error_mu)} at any pulse:"
        f" {'within' if within else 'OUTSIDE'} one pulse",
        f"  boluses            {len(s.boluses)} requested {u(bolus_prog)},"
        f" delivered {u(s.bolus_mu)}",
        *([f"  primed             {u(s.primed_mu)}  (cannula fill after a set change, not"
           " delivered: DEL-7)"] if s.primed_mu else []),
        f"  reservoir          {u(s.reservoir_start_mu)} -> {u(s.reservoir_end_mu)}",
        *render_therapy(s),
        "",
        f"Alarms: {len([a for a in s.alarms if a.get('state') == 'raised']) or 'none'}",
        f"Scheduler: {s.overruns} overruns, {s.misses} missed deadlines",
        f"Wall time: {s.wall_s:.2f} s for {hours:g} h virtual"
        + (f" ({s.duration_ms / 1000 / s.wall_s:,.0f}x real time)" if s.wall_s > 0 else ""),
    ]
    return "\n".join(lines)


def render_therapy(s: Summary) -> list[str]:
    """The glucose and calculator lines of the summary (none when the run had neither)."""
    g = s.glucose
    if not g and not s.proposals:
        return []
    lines = ["", "Glucose and calculator:"]
    if g:
        counts = ", ".join(f"{n} {src}" for src, n in sorted(g["readings"].items()))
        lines.append(f"  readings           {counts}; {g['min_mgdl']}..{g['max_mgdl']} mg/dL,"
                     f" mean {g['mean_mgdl']}, {g['in_range_pct']} % in 70..180")
    if s.proposals:
        accepted = [p for p in s.proposals if p.get("outcome") == "accepted"]
        given = sum(p["accepted_mu"] for p in accepted)
        lines.append(f"  proposals          {len(s.proposals)}, {len(accepted)} accepted on pump"
                     f" ({u(given)}), {len(s.proposals) - len(accepted)} not given")
    return lines
