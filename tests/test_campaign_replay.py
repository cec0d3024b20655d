"""`pumpctl campaign replay DIR`: every trace replayed as a campaign task; each summary is the
`pumpctl replay --json` object, and the totals count detections and false alarms."""

import json
import subprocess
import sys

import pytest
from pumpctl import detections, eventlog, traceplay

SCENARIO = {
    "format": "pumpscenario/1",
    "duration": "1:30",
    "settings": {"pulse_u": 0.05, "reservoir_u": 200},
    "basal_u_per_h": [[0, 2.0]],
}


def pumpctl(*args):
    return subprocess.run([sys.executable, "-m", "pumpctl.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Two recorded traces (an occlusion at 1 h, and a quiet one) and a file that is not one."""
    tmp = tmp_path_factory.mktemp("campaign-replay")
    d = tmp / "traces"
    d.mkdir()
    for name, seed, actions in (("a-occlusion.csv", 31, [{"at": "1:00:00", "fault": "occlusion"}]),
                                ("b-quiet.csv", 32, [])):
        scen = tmp / f"{name}.json"
        scen.write_text(json.dumps(dict(SCENARIO, name=name, seed=seed, plant={"sample": seed},
                                        actions=actions)))
        traceplay.record(scen, d / name)
    (d / "notes.txt").write_text("not a trace\n")
    return d


def test_every_trace_gets_the_replay_summary_and_the_totals_add_up(traces, tmp_path):
    proc = pumpctl("campaign", "replay", traces, "--workers", "2", "--json", "--results",
                   tmp_path / "r.csv")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    paths = sorted(p for p in traces.iterdir() if p.suffix == ".csv")
    want = []
    for p in paths:  # the in-process truth: what `pumpctl replay --json` computes
        tr, text = traceplay.replay(p)
        want.append(detections.summarize(tr, eventlog.parse(text), str(p)))
    assert got["traces"] == want
    t = got["totals"]
    assert (t["traces"], t["faults"], t["detected"]) == (2, 1, 1)
    assert t["false_alarms"] == sum(s["false_alarms"] for s in want)
    assert t["by_label"]["occlusion"]["detected"] == 1
    table = pumpctl("campaign", "replay", traces, "--tabulate", "--results", tmp_path / "r.csv")
    assert table.returncode == 0, table.stderr
    assert "a-occlusion.csv" in table.stdout and "notes.txt" not in table.stdout
    assert "2 traces, 3.00 h: 1 of 1 faults detected" in table.stdout


def test_a_damaged_trace_is_named_before_anything_runs(traces, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    good = (traces / "b-quiet.csv").read_text().splitlines(keepends=True)
    (bad / "b.csv").write_text("".join(good[:5]) + "12x,1.0\n")
    proc = pumpctl("campaign", "replay", bad, "--results", tmp_path / "r.csv")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"pumpctl: {bad / 'b.csv'}:6:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.csv").exists()
