"""REL-1 by killing the MicroPython process (SIGKILL) at random instants mid-run, then
booting again from the same littlefs2 image: see tests/upy/kill_run.py.

The journal is written before each motor step and the pulse event after it, so the
journal may hold at most one pulse more than the host saw, never fewer. make test
kills KILL_TRIALS=8 runs; make fuzz more, in shards seeded by KILL_SEED.
"""

import os
import random
import subprocess
import time

from emu import REPO
from pumpctl.firmware import FIRMWARE, micropython_binary

SCRIPT = str(REPO / "tests" / "upy" / "kill_run.py")
PULSES_IN_RUN = 107  # pulse events of an uncut run of scenarios/powercut.json


def test_sigkill_at_random_instants_loses_no_pulse_and_counts_none_twice(tmp_path):
    rng = random.Random(int(os.environ.get("KILL_SEED", "11")))
    image = str(tmp_path / "flash.img")
    trials = int(os.environ.get("KILL_TRIALS", "8"))
    killed = 0
    for _ in range(trials):
        run = subprocess.Popen(
            [micropython_binary(), SCRIPT, str(FIRMWARE), image, "run",
             str(REPO / "scenarios" / "powercut.json")],
            stdout=subprocess.PIPE, cwd=FIRMWARE,
        )  # fmt: skip
        assert run.stdout.readline() == b"ready\n"
        # Kill after a drawn number of pulses (plus a drawn sub-millisecond lag), not
        # after a drawn wall time: the run lasts well under a second now and a wall
        # clock instant would often land after its end on a fast machine.
        out = b""
        for _ in range(rng.randrange(1, PULSES_IN_RUN * 3 // 4)):
            out += run.stdout.readline()
        time.sleep(rng.uniform(0, 0.001))
        run.kill()
        out += run.stdout.read()
        run.wait(timeout=30)
        killed += b"finished" not in out
        seen = out.count(b" pulse ")
        check = subprocess.run(
            [micropython_binary(), SCRIPT, str(FIRMWARE), image, "check"],
            capture_output=True,
            text=True,
            cwd=FIRMWARE,
            timeout=60,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        kept = int(check.stdout.split()[1].split("=")[1])
        assert kept - seen in (0, 1), (seen, check.stdout)
    assert killed >= trials // 2  # most runs really were cut short
    print(f"process kills: {trials} runs, {killed} cut short, all recovered exactly")
