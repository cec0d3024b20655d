"""Memory budget on the MicroPython Unix port, with the emu .mpy bundle (see the Targets in
docs/requirements.md).

- The full firmware runs the 72 h scenario with `-X heapsize=64K` and writes the same event
  log as with the default heap.
- The control path (control and supervisor tasks) leaves no garbage per scheduler step in
  steady state, measured with gc.mem_alloc and automatic GC off (tools/mem_probe.py); what
  the emulated hardware (the plant model) allocates inside driver calls is taken out.
`make bench` (tools/bench_memory.py) prints the figures: smallest heap, bytes per step.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import build as bundle_tool  # noqa: E402

SCENARIO = REPO / "scenarios" / "three_days.json"
MICROPYTHON = str(Path(sys.executable).parent / "micropython")
HEAP_TARGET = "64K"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    bundle_tool.build("emu", out, quiet=True)
    return out / "emu"


def run(bundle, events, *options):
    return subprocess.run(
        [MICROPYTHON, *options, "main.py", "--events", str(events), str(SCENARIO)],
        cwd=bundle,
        env={"MICROPYPATH": "."},
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the firmware needs about 172 KB of heap for this run "
    "(make bench); remove this mark once it fits in 64 KB",
)
def test_72h_scenario_runs_in_a_64k_heap(bundle, tmp_path):
    small = run(bundle, tmp_path / "small.txt", "-X", "heapsize=" + HEAP_TARGET)
    assert small.returncode == 0, (small.stdout + small.stderr)[-500:]
    roomy = run(bundle, tmp_path / "roomy.txt")
    assert roomy.returncode == 0, (roomy.stdout + roomy.stderr)[-500:]
    log = (tmp_path / "small.txt").read_text()
    assert log.splitlines()[-1].split(" ")[:2] == ["259200000", "end"]
    assert log == (tmp_path / "roomy.txt").read_text()


def test_control_path_leaves_no_garbage_per_step(bundle):
    warmup_ms, until_ms = 600000, 4200000  # one hour after ten minutes, with a bolus or two
    result = subprocess.run(
        [
            MICROPYTHON,
            "-X",
            "heapsize=256K",
            str(REPO / "tools" / "mem_probe.py"),
            str(SCENARIO),
            str(warmup_ms),
            str(until_ms),
        ],
        cwd=bundle,
        env={"MICROPYPATH": "."},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    tasks = {t["name"]: t for t in report["tasks"]}
    for name in ("control", "supervisor"):
        task = tasks[name]
        assert task["quiet"] > 1000  # the window really ran this task
        assert (name, task["quiet_garbage"]) == (name, 0)
    # The measurement sees allocation: event lines (telemetry) do make garbage.
    assert sum(t["event_garbage"] for t in tasks.values()) > 0
