"""The emulated sensor read ahead in batches gives what stepping reading by reading gives.

``Plant.read(dt)`` (what the emulated board's pressure sensor calls every control tick)
serves readings from a batch computed ahead in one loop (issue 14); everything that reads or
changes the plant's state first calls ``sync()``. Side by side over random widened plants,
faults (scheduled and applied), pulses, retractions, odd step lengths and reads of the
accounts in between, a batched plant and one stepped reading by reading (``step`` then
``read_counts``, the model as it was) give the same readings, answers and state, under
CPython and on the MicroPython Unix port (where ``_fill`` is a viper function on machine
words: this is its twin test against the stepped model, the same source under CPython).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from boards.emu import plantparams
from hypothesis import given, settings
from hypothesis import strategies as st
from pumpctl.firmware import FIRMWARE, micropython_binary

sys.path.insert(0, str(Path(__file__).resolve().parent / "upy"))
import plant_batch_run  # noqa: E402

FAULT = st.one_of(
    st.tuples(
        st.sampled_from(["occlusion", "clear", "reconnect", "stuck", "sensor_ok"]), st.just({})
    ),
    st.tuples(st.just("kink"), st.fixed_dictionaries({"factor": st.integers(2, 50)})),
    st.tuples(st.just("leak"), st.fixed_dictionaries({"pct": st.integers(1, 99)})),
    st.tuples(
        st.just("disconnect"),
        st.fixed_dictionaries({"where": st.sampled_from(["site", "connector"])}),
    ),
    st.tuples(
        st.just("out_of_range"), st.fixed_dictionaries({"level": st.sampled_from(["high", "low"])})
    ),
    st.tuples(st.just("noisy"), st.fixed_dictionaries({"factor": st.integers(2, 30)})),
)
STEP_MS = st.one_of(st.just(100), st.sampled_from([0, 1, 7, 99, 101, 250, 1000, 60001]))
OP = st.one_of(
    st.tuples(st.just("r"), st.integers(1, 120), st.just(100)),  # the board's control tick
    st.tuples(st.just("r"), st.integers(1, 60), STEP_MS),
    st.just(("p",)),
    st.tuples(st.just("x"), st.integers(1, 30)),
    FAULT.map(lambda f: ("f", f[0], f[1])),
    # at any ms, or on a reading's instant (the first reading a batch must not reach)
    st.tuples(
        st.just("s"),
        st.one_of(st.integers(0, 20000), st.integers(0, 100).map(lambda k: k * 100)),
        FAULT,
    ).map(lambda s: ("s", s[1], s[2][0], s[2][1])),
    st.sampled_from([("a",), ("l",), ("c",), ("L",), ("k",), ("m",), ("S",)]),
    st.tuples(st.just("t"), STEP_MS),
)
CASE = st.fixed_dictionaries(
    {
        "params": st.integers(1, 10**6).map(lambda s: plantparams.sample(s, first_wave=False)),
        "seed": st.integers(1, 2**31),
        "ops": st.lists(OP, min_size=8, max_size=60).map(lambda ops: [list(op) for op in ops]),
        # spikes and movement steps far more often than a sampled plant has them
        "spike_rate": st.sampled_from([None, 100000, 3000000]),
        "steps_per_day": st.sampled_from([None, 50000, 2000000]),
        "walk_pa": st.sampled_from([None, 300]),
    }
)


def check(results):
    batched, stepped = results
    assert len(batched) == len(stepped)
    for i, (got, want) in enumerate(zip(batched, stepped, strict=True)):
        assert got == want, f"op {i}"


@settings(max_examples=300, deadline=None)
@given(CASE)
def test_batched_readings_and_state_equal_stepped_ones_on_cpython(case):
    check(plant_batch_run.run_case(json.loads(json.dumps(case))))


def on_unix_port(cases):
    proc = subprocess.run(
        [micropython_binary(), str(Path(plant_batch_run.__file__))],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=FIRMWARE,
        env={"MICROPYPATH": str(FIRMWARE)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@settings(max_examples=15, deadline=None)
@given(st.lists(CASE, min_size=1, max_size=8))
def test_batched_readings_and_state_equal_stepped_ones_on_the_unix_port(cases):
    cases = json.loads(json.dumps(cases))
    got = on_unix_port(cases)
    for case, results in zip(cases, got, strict=True):
        check(results)
        # and the same bytes as CPython gives
        assert results == plant_batch_run.run_case(case)


def test_a_quiet_line_is_read_from_batches():
    """The board's path does batch (else the tests above compare the model with itself)."""
    plant = plant_batch_run.Plant(plantparams.nominal(), 3)
    calls = []
    fill = plant._fill
    plant._fill = lambda dt, n: (calls.append(n), fill(dt, n))
    for _ in range(400):
        plant.read(100)
    assert len(calls) == 10 and set(calls) == {40}


def a_draining_line(batch):
    """A stiffening line with a leak, six pulses in: every account moves from one reading to
    the next, and ten readings are read (from a batch of 40 when batched)."""
    params = plantparams.nominal()
    params.update(stiffen_pct=40, depot_pct=10, walk_pa=12, steps_per_day=12)
    plant = plant_batch_run.Plant(params, 5, batch)
    plant.set_fault("leak", pct=30)
    for _ in range(6):
        plant.pulse()
    readings = []
    for _ in range(10):
        if batch:
            readings.append(plant.read(100))
        else:
            plant.step(100)
            readings.append(plant.read_counts())
    return plant, readings


@pytest.mark.parametrize(
    "call",
    [
        "delivered_nl",
        "spilled_nl",
        "stored_nl",
        "line_pa",
        "compliance_milli",
        "read_counts",
        "pulse",
        "set_fault",
        "schedule",
    ],
)
def test_each_reader_and_input_of_the_state_syncs_first(call):
    """Mid-batch, each method that reads or changes the state sees (or changes) the state
    stepping gives at that reading, and the readings after it are the same too."""
    answers = []
    for batch in (40, 0):
        plant, readings = a_draining_line(batch)
        if call == "set_fault":
            answer = plant.set_fault("stuck")
        elif call == "schedule":
            answer = plant.schedule(1500, "stuck")
        else:
            answer = getattr(plant, call)()
        for _ in range(20):
            readings.append(plant.read(100))
        plant.sync()
        answers.append((answer, readings, plant_batch_run.state(plant)))
    assert answers[0] == answers[1]


class Clock:
    now = 0


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**6),
    st.lists(st.tuples(st.one_of(st.just(100), st.integers(0, 700)), st.booleans()), max_size=300),
)
def test_the_board_sensor_reads_what_stepping_reads(seed, ticks):
    """EmuPressure.read_raw (which serves a batch's readings itself) over a batched plant,
    against stepping reading by reading; a pulse after the reading where asked."""
    from boards.emu.board import EmuPressure

    params = plantparams.sample(seed, first_wave=False)
    clock = Clock()
    sensor = EmuPressure(plant_batch_run.Plant(dict(params), seed), clock)
    stepped = plant_batch_run.Plant(dict(params), seed, 0)
    for dt, pulse in ticks:
        clock.now += dt
        stepped.step(dt)
        assert sensor.read_raw() == stepped.read_counts()
        if pulse:
            sensor.plant.pulse()
            stepped.pulse()
    sensor.plant.sync()
    assert plant_batch_run.state(sensor.plant) == plant_batch_run.state(stepped)
