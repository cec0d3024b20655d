"""One shard of `make fuzz` (tools/fuzz.py): a property run by pytest in a child process with
its own seed, example budget and example database.

A shard's outcome carries what a report needs: the examples run (hypothesis' statistics, or
the power cuts / process kills the test was asked for), whether the property failed and, if so,
the shrunk falsifying example; and the entries the shard saved in its database (failing and
shrunk examples), so that the client merges every shard's database into .hypothesis/examples
even when the workers are other machines.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"Falsifying example|Failing test case")  # hypothesis' wording, old and new
STATS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
DB_LIMIT = 4 << 20  # bytes of saved examples carried back per shard
# count-driven tests (not hypothesis): the environment variables that size and seed them
COUNTED = {"powercut": ("POWERCUT_CUTS", "POWERCUT_SEED"), "kill": ("KILL_TRIALS", "KILL_SEED")}
TIMEOUT_S = 3 * 3600


class ShardError(RuntimeError):
    """The harness itself broke (not the property): pytest could not run the shard."""


def run_shard(node: str, kind: str, seed: int, count: int, read_db: str = "") -> dict:
    """Campaign task: ``count`` examples (or cuts / kills) of property ``node`` from ``seed``."""
    with tempfile.TemporaryDirectory(prefix="fuzz-shard-") as tmp:
        db = Path(tmp) / "db"
        env = dict(os.environ, HYPOTHESIS_PROFILE="fuzz", FUZZ_EXAMPLES=str(count),
                   FUZZ_SEED=str(seed), FUZZ_DB=str(db), FUZZ_DB_READ=read_db,
                   DIFF_EXAMPLES=str(count),
                   PYTHONHASHSEED="0")
        if kind in COUNTED:
            size, seed_var = COUNTED[kind]
            env[size], env[seed_var] = str(count), str(seed)
        cmd = [sys.executable, "-m", "pytest", node, "-p", "no:cacheprovider", "-p", "no:xdist",
               "-q", "-s", "--hypothesis-show-statistics",
               "--basetemp", str(Path(tmp) / "t")]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
        out = proc.stdout + proc.stderr
        if proc.returncode not in (0, 1):
            raise ShardError(f"pytest exit {proc.returncode} on {node}:\n{out[-4000:]}")
        return {
            "examples": examples(out, kind, count, proc.returncode == 0),
            "failed": proc.returncode == 1,
            "report": failure_report(out) if proc.returncode == 1 else "",
            "db": saved_entries(db),
        }


def examples(out: str, kind: str, count: int, passed: bool) -> int:
    """Examples the shard ran: hypothesis' own count over every phase; for a counted test,
    the count it was asked for (the test asserts it ran them all) if it passed."""
    found = STATS.findall(out)
    if found:
        return sum(int(p) + int(f) for p, f, _ in found)
    return count if kind in COUNTED and passed else 0


def failure_report(out: str) -> str:
    """The falsifying example (shrunk), the reproduce blob and the assertion, from pytest's
    output; else its tail."""
    lines = out.splitlines()
    keep = [i for i, line in enumerate(lines)
            if EXAMPLE.search(line) or "reproduce_failure" in line or line.startswith("E ")]
    if not keep:
        return "\n".join(lines[-60:])
    picked: list[str] = []
    for i in keep:
        block = lines[i:i + 12] if EXAMPLE.search(lines[i]) else [lines[i]]
        picked.extend(line for line in block if line not in picked)
    return "\n".join(picked[:120])


def saved_entries(db: Path) -> dict[str, str]:
    """The shard database's files (key-hash/value-hash -> bytes, base64), capped."""
    entries: dict[str, str] = {}
    total = 0
    if db.is_dir():
        for p in sorted(db.rglob("*")):
            if p.is_file():
                data = p.read_bytes()
                total += len(data)
                if total > DB_LIMIT:
                    break
                entries[p.relative_to(db).as_posix()] = base64.b64encode(data).decode()
    return entries


def merge_into(entries: dict[str, str], db: Path) -> int:
    """Write a shard's saved entries into the directory database ``db``; returns new files.
    The layout is content-addressed, so merging is copying what is not there yet."""
    new = 0
    for rel, blob in entries.items():
        dest = db / rel
        if ".." in Path(rel).parts or dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(base64.b64decode(blob))
        new += 1
    return new
