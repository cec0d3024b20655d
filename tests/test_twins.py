"""Viper functions and their plain-Python twins give the same answers (issue 14).

A ``@micropython.viper`` function computes with machine-word ints, so it can differ from
Python where Python would not (overflow, rounding of negative numbers). The firmware runs
the viper function on MicroPython and its twin under CPython; the event logs stay the same
bytes only if the two agree. Each property runs the viper functions on the real Unix port
(``micropython``) and the twins under CPython on the same random inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pump import pressure
from pumpctl.firmware import FIRMWARE

MICROPYTHON = Path(sys.executable).parent / "micropython"

# name on the Unix port (the viper function the firmware uses there) -> the CPython twin
TWINS = {
    "pump.pressure.counts_to_pa": pressure.counts_to_pa_py,
    "pump.pressure.pa_to_counts": pressure.pa_to_counts_py,
}

RUN = """
import json, sys
sys.path.insert(0, {fw!r})
from pump import pressure
assert type(pressure.{name}) is not type(pressure.{name}_py), "not the viper function"
print(json.dumps([pressure.{name}(x) for x in {inputs!r}]))
"""


def on_unix_port(name: str, inputs: list[int]) -> list[int]:
    script = RUN.format(fw=str(FIRMWARE), name=name.rsplit(".", 1)[1], inputs=inputs)
    proc = subprocess.run(
        [str(MICROPYTHON), "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@given(st.lists(st.integers(0, pressure.COUNTS_MAX), min_size=1, max_size=200))
def test_counts_to_pa_viper_equals_its_twin(counts):
    name = "pump.pressure.counts_to_pa"
    assert on_unix_port(name, counts) == [TWINS[name](c) for c in counts]


# the plant's pressures: far below the low rail to far above the high one (an occluded line)
@given(st.lists(st.integers(-(2**29), 2**29), min_size=1, max_size=200))
def test_pa_to_counts_viper_equals_its_twin(pas):
    name = "pump.pressure.pa_to_counts"
    assert on_unix_port(name, pas) == [TWINS[name](p) for p in pas]


def test_the_twins_are_what_cpython_runs():
    assert pressure.counts_to_pa is pressure.counts_to_pa_py
    assert pressure.pa_to_counts is pressure.pa_to_counts_py


# -- pump.linefeat.LineFeatures.sample: viper on the Unix port, the same source under CPython --

FEAT_RUN = """
import json, sys
sys.path.insert(0, {fw!r})
from pump.linefeat import LineFeatures
{check}
def snap(f, ev):
    d = {{k: v for k, v in f.__dict__.items() if k != "_s"}}
    return [ev, list(f._s), sorted(d.items())]
f = LineFeatures()
for now, pa in {ops!r}:  # a line per sample or pulse: the whole run at once is too big
    if pa is None:
        f.pulse(now)
        print(json.dumps(snap(f, -1)))
    else:
        print(json.dumps(snap(f, f.sample(now, pa))))
"""
VIPER_CHECK = (
    'assert type(LineFeatures.sample) is not type(LineFeatures.climbed), "not the viper function"'
)


def feat_trace(
    seed: int, base: int, sigma: int, period_s: int, bump: int, steps: int, decay: float = 0.995
) -> list:
    """A line's samples (10 Hz, Pa) with pulses every ``period_s`` seconds that each add
    ``bump`` and decay by ``decay`` a sample, sensor noise, and ``steps`` movement steps up
    and back down."""
    import random

    rng = random.Random(seed)
    ops: list = []
    now = rng.randrange(2**30 - 200_000, 2**30)  # the ticks wrap inside the run
    excess = 0.0
    step_at = sorted(rng.randrange(0, 3000) for _ in range(2 * steps))
    offset = 0
    for i in range(3000):
        if i % (10 * period_s) == 5:
            ops.append([now, None])
            excess += bump
        while step_at and step_at[0] == i:
            step_at.pop(0)
            offset = rng.randrange(200, 3000) if offset == 0 else 0
        excess *= decay
        pa = base + offset + int(excess) + int(rng.gauss(0, sigma))
        ops.append([now, pa])
        now = (now + 100) & 0x3FFFFFFF
    return ops


def run_ops(template: str, check: str, ops: list, on_unix_port: bool, heap: str,
            timeout: int, **fields) -> list:
    """The JSON lines a twin script prints over ``ops``, from the Unix port (with its viper
    ``check``) or CPython."""
    check = check if on_unix_port else ""
    script = template.format(fw=str(FIRMWARE), ops=ops, check=check, **fields)
    cmd = [str(MICROPYTHON), "-X", f"heapsize={heap}"] if on_unix_port else [sys.executable]
    proc = subprocess.run(cmd + ["-c", script], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def feat_on(ops: list, on_unix_port: bool) -> list:
    """Every step's events, private state and attributes, from the Unix port or CPython."""
    return run_ops(FEAT_RUN, VIPER_CHECK, ops, on_unix_port, "32M", 120)


@given(
    st.integers(0, 2**32),
    st.integers(-20_000, 180_000),
    st.integers(0, 600),
    st.sampled_from([1, 2, 3, 6, 20, 60]),
    st.integers(0, 8_000),
    st.integers(0, 4),
)
def test_line_features_viper_sample_equals_plain_python(seed, base, sigma, period_s, bump, steps):
    """Every feature, every private field and every event after every sample and pulse of a
    5-minute line (pulses, noise, movement steps, negative pressures) are the same."""
    ops = feat_trace(seed, base, sigma, period_s, bump, steps)
    assert feat_on(ops, True) == feat_on(ops, False)


@given(st.lists(st.integers(-(2**24), 2**24), min_size=1, max_size=300), st.integers(0, 2**30))
def test_line_features_viper_sample_equals_plain_python_on_any_pressures(pas, t0):
    """Arbitrary pressures, with a pulse every 23 samples."""
    ops: list = []
    now = t0
    for i, pa in enumerate(pas):
        if i % 23 == 7:
            ops.append([now, None])
        ops.append([now, pa])
        now = (now + 100) & 0x3FFFFFFF
    assert feat_on(ops, True) == feat_on(ops, False)


# -- pump.sensorcheck.SensorCheck.sample: viper on the Unix port, the same source under CPython --

SENSOR_RUN = """
import json, sys
sys.path.insert(0, {fw!r})
from pump.sensorcheck import SensorCheck
{check}
c = SensorCheck()
c.judge_noise = {judge!r}
for counts, noise, bump in {ops!r}:
    fault = c.sample(counts, noise, bump)
    print(json.dumps([fault, c.fault, list(c._c)]))
"""
SENSOR_CHECK = (
    'assert type(SensorCheck.sample) is not type(SensorCheck.reset), "not the viper function"'
)


def sensor_on(ops: list, judge: bool, on_unix_port: bool) -> list:
    """Every reading's fault and counters, from the Unix port or CPython."""
    return run_ops(SENSOR_RUN, SENSOR_CHECK, ops, on_unix_port, "32M", 120, judge=judge)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(0, 4095), st.sampled_from([0, 1, 2, 3, 4092, 4093, 4095])),
            st.integers(1, 400),  # readings in a row at this count (stuck, rails, clearing)
            st.integers(0, 2000),
            st.integers(0, 20000),
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
def test_sensor_check_viper_sample_equals_plain_python(runs, judge):
    """Runs of equal counts (stuck), at the rails (out of range), noisy and clear stretches:
    the same fault and counters after every reading."""
    ops = [[counts, noise, bump] for counts, n, noise, bump in runs for _ in range(n)]
    assert sensor_on(ops, judge, True) == sensor_on(ops, judge, False)


# -- pump.linewatch.LineWatch.sample: viper on the Unix port, the same source under CPython --

WATCH_RUN = """
import json, sys
sys.path.insert(0, {fw!r})
from pump.linewatch import LineWatch
{check}
def plain(v):
    if type(v).__name__ == "array":
        return list(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v
def snap(w, look):
    out = [look]
    for part in (w.feat, w.occ, w.dis, w.sensor, w.bolus):
        out.append(sorted((k, plain(v)) for k, v in part.__dict__.items()))
    return out
w = LineWatch(500)
for now, counts in {ops!r}:
    if counts is None:
        w.pulse(now)
        print(json.dumps(snap(w, None)))
    else:
        print(json.dumps(snap(w, w.sample(now, counts))))
"""
WATCH_CHECK = 'assert type(LineWatch.sample) is not type(LineWatch.rearm), "not the viper function"'


def watch_on(ops: list, on_unix_port: bool) -> list:
    """Every step's answer and every detector's state, from the Unix port or CPython."""
    return run_ops(WATCH_RUN, WATCH_CHECK, ops, on_unix_port, "64M", 300)


@given(
    st.integers(0, 2**32),
    st.integers(0, 200_000),
    st.integers(0, 600),
    st.sampled_from([1, 2, 3, 6, 20, 60]),
    st.integers(0, 30_000),
    st.integers(0, 4),
    st.sampled_from([0.95, 0.995, 1.0]),
)
def test_line_watch_viper_sample_equals_plain_python(
    seed, base, sigma, period_s, bump, steps, decay
):
    """A 5-minute line in ADC counts (flowing, slow or blocked, at the rails, noisy, with
    movement steps): the same answer and the same state of every detector at every step."""
    ops = [
        [now, None if pa is None else pressure.pa_to_counts_py(pa)]
        for now, pa in feat_trace(seed, base, sigma, period_s, bump, steps, decay)
    ]
    assert watch_on(ops, True) == watch_on(ops, False)
