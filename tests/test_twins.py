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
