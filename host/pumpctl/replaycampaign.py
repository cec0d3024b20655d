"""`pumpctl campaign replay DIR`: replay every trace of a directory as one campaign and tabulate
detections and false alarms. Each trace's summary is exactly `pumpctl replay --json`'s
(docs/trace-format.md); the table is built from them in file-name order."""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

from pumpctl import detections, eventlog, trace, traceplay
from pumpctl.errors import UsageError


def find_traces(directory: Path) -> list[Path]:
    """Every pumptrace file directly in ``directory`` (by its header line), sorted by name."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    magic = b"# " + trace.FORMAT.split("/")[0].encode() + b"/"  # any version: read() judges
    found = []
    for p in sorted(directory.iterdir()):
        if p.is_file():
            with p.open("rb") as f:
                if f.read(len(magic)) == magic:
                    found.append(p)
    if not found:
        raise UsageError(f"{directory}: no trace files (pumptrace/1) in it")
    return found


def tasks(paths: list[Path], cpython: bool = False) -> list[dict]:
    """One task per trace, checked here first (a bad trace names its file and line) and keyed
    by its content: an edited trace is replayed again."""
    out = []
    for p in paths:
        trace.read(p)
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        out.append({"trace": str(p.resolve()), "name": str(p), "sha256": digest,
                    "cpython": cpython})
    return out


def replay_one(trace: str, name: str, sha256: str, cpython: bool) -> dict:
    """Campaign task: the replay summary of one trace (the `pumpctl replay --json` object)."""
    path = Path(trace)
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise UsageError(f"{name}: changed since the campaign was planned (or differs on this "
                         "worker): replay it again")
    tr, text = traceplay.replay(path, cpython)
    return detections.summarize(tr, eventlog.parse(text), name)


def totals(summaries: list[dict]) -> dict:
    """Detections per fault label and the false alarms over every trace."""
    by: dict[str, dict] = {}
    for s in summaries:
        for d in s["detections"]:
            row = by.setdefault(d["label"], {"faults": 0, "detected": 0, "latency_ms": [],
                                             "missed_u": []})
            row["faults"] += 1
            if d["alarm_ms"] is not None:
                row["detected"] += 1
                row["latency_ms"].append(d["latency_ms"])
                row["missed_u"].append(d["missed_u"])
    labels = {}
    for label in sorted(by):
        row = by[label]
        lat, miss = row["latency_ms"], row["missed_u"]
        labels[label] = {
            "faults": row["faults"], "detected": row["detected"],
            "latency_ms_median": statistics.median(lat) if lat else None,
            "latency_ms_max": max(lat) if lat else None,
            "missed_u_max": max(miss) if miss else None,
        }
    return {
        "traces": len(summaries),
        "hours": round(sum(s["duration_ms"] for s in summaries) / 3600000, 3),
        "faults": sum(r["faults"] for r in labels.values()),
        "detected": sum(r["detected"] for r in labels.values()),
        "false_alarms": sum(s["false_alarms"] for s in summaries),
        "by_label": labels,
    }


def _cells(row: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [_cells(head, widths), _cells(["-" * w for w in widths], widths),
            *(_cells(r, widths) for r in rows)]


def render(summaries: list[dict]) -> str:
    """Per trace: faults detected, latencies, false alarms; then the totals per label."""
    rows = []
    for s in summaries:
        dets = s["detections"]
        found = [d for d in dets if d["alarm_ms"] is not None]
        rows.append([s["trace"], f"{s['duration_ms'] / 3600000:.2f}",
                     ",".join(d["label"] for d in dets) or "-",
                     f"{len(found)}/{len(dets)}",
                     ",".join(f"{d['latency_ms'] / 60000:.1f}" for d in found) or "-",
                     str(s["false_alarms"])])
    out = _table(["trace", "hours", "faults", "detected", "latency min", "false alarms"], rows)
    t = totals(summaries)
    out.append("")
    lab = []
    for label, r in t["by_label"].items():
        med, top = r["latency_ms_median"], r["latency_ms_max"]
        lab.append([label, f"{r['detected']}/{r['faults']}",
                    "-" if med is None else f"{med / 60000:.1f} / {top / 60000:.1f}",
                    "-" if r["missed_u_max"] is None else f"{r['missed_u_max']:.3f}"])
    if lab:
        out += _table(["fault", "detected", "latency min med/max", "missed U max"], lab)
        out.append("")
    out.append(f"{t['traces']} traces, {t['hours']:.2f} h: {t['detected']} of {t['faults']} "
               f"faults detected, {t['false_alarms']} false alarms")
    return "\n".join(out)
