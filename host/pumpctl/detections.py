"""Detection report: a trace's ground-truth labels against the alarms the firmware raised.

The JSON summary (docs/trace-format.md, "Replay summary") is the contract of
`pumpctl replay --json`. A labelled fault is detected by the first raise of a
matching alarm kind at or after its onset and before its end (plus GRACE_MS);
every other raise of a line or sensor alarm is a false alarm.
"""

from __future__ import annotations

from pumpctl.eventlog import Event
from pumpctl.timefmt import hms
from pumpctl.trace import Trace

# label -> alarm kinds that detect it
MATCH = {
    "occlusion": ("occlusion",),
    "kink": ("occlusion",),
    "disconnect": ("disconnect",),
    "leak": ("disconnect",),
    "sensor": ("sensor",),
}
LINE_ALARMS = ("occlusion", "disconnect", "sensor")
GRACE_MS = 600000  # a fault's alarm may come up to 10 min after the label says it ended


def _u(mu: int) -> float:
    return round(mu / 1000, 3)


def summarize(trace: Trace, events: list[Event], name: str) -> dict:
    pulse_mu = round(trace.meta["pulse_u"] * 1000)
    pulses = [e.t_ms for e in events if e.kind == "pulse"]
    raises = [
        (e.fields.get("kind", ""), e.t_ms)
        for e in events
        if e.kind == "alarm" and e.fields.get("state") == "raised"
    ]
    end = next((e for e in events if e.kind == "end"), None)
    delivered_mu = end.int("delivered") if end else len(pulses) * pulse_mu
    duration = trace.duration_ms
    used: set[int] = set()
    detections = []
    for label, onset, stop in trace.fault_windows():
        kinds = MATCH.get(label, ())
        limit = (stop if stop is not None else duration) + GRACE_MS
        hit = None
        for i, (kind, t) in enumerate(raises):
            if kind in kinds and onset <= t <= limit and i not in used:
                hit = i
                break
        if hit is None:
            upto = stop if stop is not None else duration
            n = sum(1 for t in pulses if onset <= t < upto)
            detections.append({"label": label, "onset_ms": onset, "alarm_ms": None,
                               "latency_ms": None, "missed_u": None, "pulses": n,
                               "undetected_u": _u(n * pulse_mu)})
            continue
        used.add(hit)
        t_alarm = raises[hit][1]
        n = sum(1 for t in pulses if onset <= t <= t_alarm)
        detections.append({"label": label, "onset_ms": onset, "alarm_ms": t_alarm,
                           "latency_ms": t_alarm - onset, "missed_u": _u(n * pulse_mu),
                           "pulses": n})
    false = [
        {"kind": kind, "t_ms": t}
        for i, (kind, t) in enumerate(raises)
        if kind in LINE_ALARMS and i not in used
    ]
    return {
        "trace": name,
        "duration_ms": duration,
        "delivered_u": _u(delivered_mu),
        "pulses_ms": pulses,
        "alarms": [{"kind": kind, "t_ms": t} for kind, t in raises],
        "detections": detections,
        "false_alarms": len(false),
        "false_alarm_list": false,
    }


def render(summary: dict) -> str:
    lines = [
        f"Trace: {summary['trace']}  ({summary['duration_ms'] / 3600000:.2f} h)",
        f"Delivered {summary['delivered_u']:.3f} U in {len(summary['pulses_ms'])} pulses",
        "",
        "Detections:",
    ]
    if not summary["detections"]:
        lines.append("  (no labelled faults in this trace)")
    for d in summary["detections"]:
        if d["alarm_ms"] is None:
            onset = hms(d["onset_ms"], tenths=True)
            lines.append(f"  {d['label']:<11} onset {onset}  NOT DETECTED "
                         f"({d['pulses']} pulses pushed while it lasted)")
        else:
            onset, alarm = hms(d["onset_ms"], tenths=True), hms(d["alarm_ms"], tenths=True)
            lines.append(
                f"  {d['label']:<11} onset {onset}  alarm {alarm}"
                f"  latency {d['latency_ms'] / 60000:.1f} min, {d['pulses']} pulses, "
                f"missed {d['missed_u']:.3f} U"
            )
    lines.append("")
    lines.append(f"False alarms: {summary['false_alarms']}")
    for fa in summary["false_alarm_list"]:
        lines.append(f"  {fa['kind']} at {hms(fa['t_ms'], tenths=True)}")
    lines.append("Alarms raised: " + (", ".join(
        f"{a['kind']}@{hms(a['t_ms'], tenths=True)}" for a in summary["alarms"]) or "none"))
    return "\n".join(lines)
