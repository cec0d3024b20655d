"""REL-1 power cuts on real littlefs2 (inside the Unix port): see tests/upy/powercut_run.py.

make test cuts the power at 40 random block writes or erases; make fuzz at
POWERCUT_CUTS of them in each shard, seeded by POWERCUT_SEED.
"""

import os
import subprocess

from emu import REPO
from pumpctl.firmware import FIRMWARE, micropython_binary


def test_power_cut_at_random_block_writes_loses_and_repeats_nothing(tmp_path):
    cuts = int(os.environ.get("POWERCUT_CUTS", "40"))
    proc = subprocess.run(
        [micropython_binary(), str(REPO / "tests" / "upy" / "powercut_run.py"), str(FIRMWARE),
         str(REPO / "scenarios" / "powercut.json"), str(tmp_path / "flash.img"), str(cuts),
         os.environ.get("POWERCUT_SEED", "7")],
        capture_output=True, text=True, cwd=FIRMWARE, timeout=3600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    results = [line for line in lines if line.startswith("cut=")]
    assert len(results) == cuts
    assert [line for line in results if not line.endswith(" ok")] == []
    summary = lines[-1].split()
    assert summary[0] == "powercut" and summary[-1] == "failures=0"
    writes = int(summary[2].split("=")[1])
    assert writes > 100  # the fixture really exercises the journal
    print(lines[-1])
