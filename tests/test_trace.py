"""Trace format pumptrace/1 (host/pumpctl/trace.py, firmware boards/emu/tracefile.py)."""

import io
import json

import pytest
from boards.emu import tracefile
from hypothesis import given
from hypothesis import strategies as st
from pump.pressure import pa_to_counts
from pumpctl import trace, traceplay
from pumpctl.trace import TraceError

META = (
    '# pumptrace/1 {"sample_hz": 10, "pulse_u": 0.05, "basal_u_per_h": [[0, 1.0]], '
    '"reservoir_u": 300}'
)
GOOD = [
    META,
    "t_ms,pressure_kpa,connector,label",
    "0,2.1,1,",
    "100,2.0,1,occlusion",
    "200,2.050,0,",
    "300,2.1,1,clear",
]


def test_reads_the_design_example():
    tr = trace.parse(GOOD, "ex.csv")
    assert tr.t_ms == [0, 100, 200, 300]
    assert tr.pressure_pa == [2100, 2000, 2050, 2100]
    assert tr.connector == [1, 1, 0, 1]
    assert tr.labels == [(100, "occlusion"), (300, "clear")]
    assert tr.fault_windows() == [("occlusion", 100, 300)]
    assert tr.duration_ms == 400


@pytest.mark.parametrize(
    "lines, message",
    [
        ([], r"ex.csv:1: empty file"),
        (["t_ms,pressure_kpa"], r"ex.csv:1: expected '# pumptrace/1"),
        (["# pumptrace/2 {}"] + GOOD[1:], r"ex.csv:1: unsupported version 'pumptrace/2'"),
        (["# pumptrace/1 {nope"] + GOOD[1:], r"ex.csv:1: metadata is not valid JSON"),
        (['# pumptrace/1 {"sample_hz": 10}'] + GOOD[1:], r"ex.csv:1: metadata is missing"),
        ([META.replace("[[0, 1.0]]", "[[5, 1.0]]")] + GOOD[1:], r"basal_u_per_h\[0\]"),
        ([META], r"ex.csv:2: missing the column line"),
        ([META, "time,pressure_kpa"], r"ex.csv:2: column 1 must be 't_ms', got 'time'"),
        ([META, "t_ms,pressure_kpa", "0,2.1", "0,2.2"], r"ex.csv:4: t_ms 0 is not after 0"),
        ([META, "t_ms,pressure_kpa", "0,2.1", "-5,2.2"], r"ex.csv:4: t_ms must be"),
        ([META, "t_ms,pressure_kpa,connector", "0,2.1"], r"ex.csv:3: expected 3 columns"),
        ([META, "t_ms,pressure_kpa", "0,abc"], r"ex.csv:3: pressure_kpa must be a number"),
        ([META, "t_ms,pressure_kpa", "0,2.1234"], r"ex.csv:3: .*at most 3 decimals"),
        ([META, "t_ms,pressure_kpa,connector", "0,2.1,2"], r"ex.csv:3: connector must be"),
        ([META, "t_ms,pressure_kpa,label", "0,2.1,Oops!"], r"ex.csv:3: label 'Oops!'"),
        ([META, "t_ms,pressure_kpa"], r"ex.csv:3: no samples"),
        ([META, "t_ms,pressure_kpa,bg_mgdl", "0,2.1,abc"], r"ex.csv:3: bg_mgdl .*got 'abc'"),
        ([META, "t_ms,pressure_kpa,bg_mgdl", "0,2.1,", "100,2.1,601"],
         r"ex.csv:4: bg_mgdl must be a whole number of mg/dL in 20..600, or empty, got '601'"),
        ([META, "t_ms,pressure_kpa,bg_mgdl", "0,2.1,19"], r"ex.csv:3: bg_mgdl .*got '19'"),
        ([META, "t_ms,pressure_kpa,bg_mgdl", "0,2.1,142.5"], r"ex.csv:3: bg_mgdl .*'142.5'"),
        ([META, "t_ms,pressure_kpa,bg_mgdl", "0,2.1,-80"], r"ex.csv:3: bg_mgdl .*got '-80'"),
        ([META, "t_ms,pressure_kpa", "²,2.1"], r"ex.csv:3: t_ms must be a non-negative"),
    ],
)
def test_malformed_traces_name_the_line(lines, message):
    with pytest.raises(TraceError, match=message):
        trace.parse(lines, "ex.csv")


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(TraceError, match="cannot read"):
        trace.read(tmp_path / "missing.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TraceError, match="not a text file"):
        trace.read(binary)


@given(
    st.lists(
        st.tuples(
            st.integers(1, 1000),
            st.integers(-1_000_000, 1_000_000),
            st.sampled_from([0, 1, None]),
            st.sampled_from(["", "occlusion", "leak", "clear"]),
            st.integers(0, 3),
            st.sampled_from([0, 20, 142, 600]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_write_then_read_round_trips(rows, with_bg):
    t = 0
    full = []
    for dt, pa, conn, label, pulses, bg in rows:
        t += dt
        full.append((t, pa, conn, label, pulses, bg if with_bg else 0))
    buf = io.StringIO()
    meta = {"sample_hz": 10, "pulse_u": 0.05, "basal_u_per_h": [[0, 1.0]], "reservoir_u": 300}
    writer = tracefile.TraceWriter(buf, meta, with_bg)  # the one pumptrace/1 writer
    for row in full:
        writer.row(*row)
    tr = trace.parse(buf.getvalue().splitlines())
    assert ("bg_mgdl" in tr.columns) == with_bg
    assert tr.bg == [(r[0], r[5]) for r in full if r[5]]
    assert tr.meta == meta
    assert tr.t_ms == [r[0] for r in full]
    assert tr.pressure_pa == [r[1] for r in full]
    assert tr.connector == [r[2] for r in full]
    assert tr.labels == [(r[0], r[3]) for r in full if r[3]]
    assert tr.pulses_ms == [r[0] for r in full for _ in range(r[4])]


def test_every_adc_count_survives_the_kpa_text_round_trip():
    for counts in range(4096):
        text = tracefile.fmt_kpa(tracefile.counts_to_pa(counts))
        assert pa_to_counts(trace.kpa_to_pa(text)) == counts
        assert traceplay.pa_to_counts(trace.kpa_to_pa(text)) == counts


def test_replay_grid_holds_the_row_in_force_every_100_ms():
    lines = [META, "t_ms,pressure_kpa,connector", "50,2.0,1", "200,4.0,0", "250,5.0,1", "300,6.0,1"]
    g = traceplay.grid(trace.parse(lines))
    c = [pa_to_counts(pa) for pa in (2000, 4000, 5000, 6000)]
    # t = 0 (before the first row: hold it), 100 (the 50 row), 200 (open), 300
    assert list(g) == [c[0], c[0], c[1] | traceplay.OPEN_BIT, c[3]]


def test_firmware_metadata_json_is_sorted_and_float_free():
    meta = {"b": [1, tracefile.Raw("0.050")], "a": {"y": "s", "x": True}}
    assert tracefile.dumps(meta) == '{"a": {"x": true, "y": "s"}, "b": [1, 0.050]}'


def test_bg_column_readings_become_cgm_commands_at_the_second_of_their_row():
    lines = [META, "t_ms,pressure_kpa,label,bg_mgdl", "0,2.1,,", "100,2.1,,142",
             "300900,2.0,occlusion,", "301000,2.0,, 87 ", "302000,2.0,,"]
    tr = trace.parse(lines, "cgm.csv")
    assert tr.bg == [(100, 142), (301000, 87)]  # empty cells: no reading
    actions = traceplay.scenario_for(tr)["actions"]
    assert actions == [
        {"at": "0:00:00", "command": "cgm", "args": {"mgdl": 142}},
        {"at": "0:05:01", "command": "cgm", "args": {"mgdl": 87}},
    ]


def test_a_trace_without_the_bg_column_replays_only_its_metadata_actions():
    actions = [{"at": "0:10:00", "command": "bolus", "args": {"amount_u": 1.0}}]
    meta = META[:-1] + ', "actions": ' + json.dumps(actions) + "}"
    tr = trace.parse([meta] + GOOD[1:], "old.csv")
    assert tr.bg == []
    assert traceplay.scenario_for(tr)["actions"] == actions


def test_cgm_readings_are_read_from_event_lines():
    assert tracefile.cgm_reading("60000 bg mgdl=142 src=cgm trend=flat iob=0\n") == 142
    assert tracefile.cgm_reading("60000 bg mgdl=142 src=finger trend=none iob=0\n") == 0
    assert tracefile.cgm_reading("60000 pulse src=basal total=50 res=199950\n") == 0
    assert tracefile.cgm_reading("60000 bg\n") == 0
