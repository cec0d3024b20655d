"""tools/callgrind_steps.py: x86 instructions per scheduler step under valgrind's callgrind.

A smoke test over short spans (the figures themselves are the README's, not asserted here):
the tool runs, prints a positive count per mode and maps native functions back to their names.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "callgrind_steps.py"


def tool(*args, env=None):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          env=env, cwd=REPO)


def test_help():
    proc = tool("--help")
    assert proc.returncode == 0
    assert "--profile" in proc.stdout and "bare" in proc.stdout


def test_clear_error_without_valgrind(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # nothing on it: no valgrind
    proc = tool("--mode", "bare", env=env)
    assert proc.returncode == 1
    assert "valgrind is not installed" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="needs valgrind (Debian package: valgrind)")
def test_counts_and_native_profile():
    proc = tool("--mode", "bare", "--profile", "closed", "--seconds", "10", "40", "--top", "80")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = {m: int(n.replace(",", "")) for m, n in
              re.findall(r"^(bare|closed)\s+([\d,]+)", proc.stdout, re.M)}
    assert set(counts) == {"bare", "closed"}
    assert 0 < counts["bare"] < counts["closed"]
    # the scheduler's step is native: its inclusive cost is mapped to its name
    assert re.search(r"^\s+[\d,]+\s+pump\.sched\.Scheduler\.step$", proc.stdout, re.M)
