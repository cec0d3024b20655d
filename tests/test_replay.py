"""Record and replay through the real firmware (Unix port), and the replay summary contract."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pumpctl import eventlog, trace, traceplay

SCENARIO = {
    "format": "pumpscenario/1",
    "name": "record-replay",
    "duration": "3:00",
    "seed": 21,
    "settings": {"pulse_u": 0.05, "reservoir_u": 200},
    "basal_u_per_h": [[0, 2.0]],
    "plant": {"sample": 21},
    "actions": [
        {"at": "0:40:00", "command": "bolus", "args": {"amount_u": 1.0}},
        {"at": "1:00:00", "fault": "occlusion"},
        {"at": "1:30:00", "fault": "clear"},
        {"at": "1:31:00", "command": "ack"},
        {"at": "2:00:00", "fault": "disconnect"},
        {"at": "2:30:00", "fault": "reconnect"},
        {"at": "2:31:00", "command": "ack"},
        # a CGM stream: the recording carries it in its bg_mgdl column, not in its actions
        {"at": "0:00:00", "every_min": 5, "cgm_mgdl": [150 - 2 * i for i in range(36)]},
    ],
}


def pumpctl(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "pumpctl.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[1] / "host",
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def raised(events):
    return [
        (e.t_ms, e.fields["kind"])
        for e in events
        if e.kind == "alarm" and e.fields.get("state") == "raised"
    ]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rec")
    scen = tmp / "scenario.json"
    scen.write_text(json.dumps(SCENARIO))
    out = tmp / "run.trace"
    events = traceplay.record(scen, out)
    return out, events


def test_recorded_trace_is_valid_and_labelled(recorded):
    path, events = recorded
    tr = trace.read(path)
    assert len(tr.t_ms) == 3 * 36000 + 1
    assert [label for _, label in tr.labels] == ["occlusion", "clear", "disconnect", "clear"]
    assert len(tr.pulses_ms) == sum(1 for e in events if e.kind == "pulse")
    assert tr.meta["actions"][0]["command"] == "bolus"
    assert not any("cgm_mgdl" in a for a in tr.meta["actions"])
    # every CGM reading the pump reported is in the bg_mgdl column, in the row after it
    assert [v for _, v in tr.bg] == [150 - 2 * i for i in range(36)]
    reported = [e.t_ms for e in events if e.kind == "bg"]
    assert [t - t % 1000 for t, _ in tr.bg] == reported


def test_closed_loop_run_and_open_loop_replay_raise_the_same_alarms_at_the_same_times(recorded):
    path, rec_events = recorded
    _, text = traceplay.replay(path)
    rep_events = eventlog.parse(text)
    assert raised(rep_events) == raised(rec_events)
    assert [k for _, k in raised(rec_events)] == ["occlusion", "disconnect"]
    # the whole event log is the same, except the fault injections (the trace is the world)
    rec_lines = [(e.t_ms, e.kind, e.fields) for e in rec_events if e.kind != "inject"]
    rep_lines = [(e.t_ms, e.kind, e.fields) for e in rep_events]
    assert rep_lines == rec_lines
    # the readings of the bg_mgdl column reached the pump's glucose ring as CGM readings
    bg = [(e.t_ms, int(e.fields["mgdl"])) for e in rep_events if e.kind == "bg"]
    assert len(bg) == 36 and all(e.kind != "bg" or e.fields["src"] == "cgm" for e in rep_events)
    assert bg == [(t - t % 1000, v) for t, v in trace.read(path).bg]


def without_bg(path, out, empty_cells):
    """The trace at ``path`` as a trace from before the bg_mgdl column (or with it empty)."""
    meta, columns, *rows = path.read_text().splitlines()
    assert columns.endswith(",bg_mgdl")
    cut = [line.rsplit(",", 1)[0] for line in [columns, *rows]]
    if empty_cells:
        cut = [cut[0] + ",bg_mgdl"] + [row + "," for row in cut[1:]]
    out.write_text("\n".join([meta, *cut]) + "\n")
    return out


def test_a_trace_without_readings_replays_as_before(recorded, tmp_path):
    path, _ = recorded
    old = without_bg(path, tmp_path / "old.trace", empty_cells=False)
    empty = without_bg(path, tmp_path / "empty.trace", empty_cells=True)
    assert "bg_mgdl" not in old.read_text() and trace.read(empty).bg == []
    old_log = traceplay.replay(old)[1]
    assert " bg " not in old_log and "name=cgm" not in old_log
    assert traceplay.replay(empty)[1] == old_log  # an empty cell is no reading


def test_replay_on_cpython_gives_the_same_event_log_bytes(recorded):
    path, _ = recorded
    assert traceplay.replay(path, cpython=True)[1] == traceplay.replay(path)[1]


def test_replay_json_meets_the_summary_contract(recorded):
    path, _ = recorded
    out = json.loads(pumpctl("replay", path, "--json").stdout)
    for key in (
        "trace",
        "duration_ms",
        "delivered_u",
        "pulses_ms",
        "alarms",
        "detections",
        "false_alarms",
    ):
        assert key in out
    assert out["false_alarms"] == 0
    labels = [d["label"] for d in out["detections"]]
    assert labels == ["occlusion", "disconnect"]
    for d in out["detections"]:
        assert d["alarm_ms"] is not None
        assert d["latency_ms"] == d["alarm_ms"] - d["onset_ms"] > 0
        assert 0 < d["missed_u"] <= 0.25
    assert out["alarms"][0] == {"kind": "occlusion", "t_ms": out["detections"][0]["alarm_ms"]}


def test_replay_report_is_human_readable(recorded, tmp_path):
    path, _ = recorded
    events = tmp_path / "events.log"
    text = pumpctl("replay", path, "--events", events).stdout
    assert "occlusion" in text and "False alarms: 0" in text
    assert "alarm kind=occlusion" in events.read_text()


def test_a_malformed_trace_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        '# pumptrace/1 {"sample_hz": 10, "pulse_u": 0.05, "basal_u_per_h": '
        '[[0, 1.0]], "reservoir_u": 300}\nt_ms,pressure_kpa\n0,2.0\n100,x\n'
    )
    proc = pumpctl("replay", bad, check=False)
    assert proc.returncode != 0
    assert f"pumpctl: {bad}:4: pressure_kpa must be a number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_trace_gen_writes_a_labelled_trace(tmp_path):
    out = tmp_path / "gen.csv"
    text = pumpctl(
        "trace",
        "gen",
        out,
        "--kind",
        "leak",
        "--rate",
        "1",
        "--hours",
        "1.5",
        "--onset",
        "1:00",
        "--seed",
        "4",
    ).stdout
    assert "leak@3600" in text
    tr = trace.read(out)
    assert tr.fault_windows()[0][0] == "leak"
    assert tr.meta["plant"]["compliance_nl_per_kpa"] > 0


def test_replay_plot_writes_an_image(recorded, tmp_path):
    path, _ = recorded
    out = tmp_path / "replay.png"
    pumpctl("replay", path, "--plot", out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = pumpctl("replay", path, "--plot", tmp_path / "replay.txt", check=False)
    assert proc.returncode == 2 and "expected a .png" in proc.stderr


def test_trace_suite_covers_every_kind_rate_and_bolus():
    from pumpctl import tracegen

    items = tracegen.suite(5)
    names = [name for name, _ in items]
    assert len(set(names)) == len(names)
    for kind in tracegen.KINDS:
        for rate in tracegen.SUITE_RATES:
            assert any(n.startswith(f"{kind}-{rate:g}uh-") for n in names)
    for kind in tracegen.LINE_FAULTS:
        assert any(n.startswith(f"{kind}-bolus-") for n in names)
    seeds = {scen["plant"]["sample"] for _, scen in items}
    assert len(seeds) == len(items)  # every trace on its own sampled plant
