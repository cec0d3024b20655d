"""Small deterministic campaign tasks for tests/test_campaign.py (importable by Dask workers:
the tests put this directory on the workers' PYTHONPATH)."""

from __future__ import annotations

import json
import time

from boards.emu.intmath import XorShift32


def draws(seed: int, n: int, pause_ms: int = 0) -> dict:
    """``n`` draws of the firmware's PRNG from ``seed``: their sum and the last one."""
    rng = XorShift32(seed)
    got = [rng.below(1000) for _ in range(n)]
    if pause_ms:
        time.sleep(pause_ms / 1000)  # long enough for a worker to die with tasks on it
    if seed % 7 == 3:
        raise ValueError(f"seed {seed} is unlucky")
    return {"sum": sum(got), "last": got[-1]}


def table(tasks: list[dict], outcomes: list) -> str:
    """The campaign's table: one line per task in task order, as a report would print it."""
    return "".join(f"{t['seed']:>6} {t['n']:>4}  {json.dumps(o, sort_keys=True)}\n"
                   for t, o in zip(tasks, outcomes, strict=True))
