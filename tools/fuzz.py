"""make fuzz: the long property runs as one campaign, sharded by seed across Dask workers.

    python tools/fuzz.py [--scale F] [--seed N] [--workers W | --scheduler tcp://HOST:PORT]
                         [--results FILE] [--tabulate]

Every hypothesis property in the fuzz files, and the power-cut and process-kill tests, gets a
budget (examples, stateful sequences, power cuts, kills) split into shards; a shard is one
pytest run of that property with its own seed and its own example database
(pumpctl.fuzzshard). Afterwards every shard's saved examples are merged into
.hypothesis/examples, and a table gives per property the shards, the examples run and the
failures; each failure is printed with its shrunk example and its reproduce blob.
Seeds are fixed by --seed: running again resumes (finished shards are skipped); a new
--seed fuzzes new ground.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "firmware"), str(ROOT / "host")]

from pumpctl import campaign_args, fuzzshard  # noqa: E402

FILES = ("test_stateful.py", "test_bad_input.py", "test_journal.py", "test_delivery.py",
         "test_protocol.py", "test_differential.py", "test_powercut.py", "test_kill.py")
DATABASE = ROOT / ".hypothesis" / "examples"


@dataclass(frozen=True)
class Budget:
    """How much of one kind of property make fuzz runs, and in shards of what size."""

    unit: str
    total: int
    shard: int


# Sized so that the whole campaign fits in 30 min on 2 cores, from the CPU seconds measured per
# shard (docs/campaigns.md: about 3.7 s to start a shard, 0.74 s per stateful sequence, 0.95 s
# per delivery example, a few ms per bad-input / journal / protocol example); --scale
# multiplies every total.
BUDGETS = {
    "stateful": Budget("sequences", 1500, 50),
    "delivery": Budget("examples", 200, 100),
    "differential": Budget("examples", 100, 20),
    "powercut": Budget("power cuts", 400, 100),
    "kill": Budget("kills", 50, 10),
    "property": Budget("examples", 1000, 1000),
}


def kind_of(node: str) -> str:
    if "test_powercut.py" in node:
        return "powercut"
    if "test_kill.py" in node:
        return "kill"
    if "test_stateful.py" in node:
        return "stateful"
    if "test_differential.py" in node:
        return "differential"
    if "test_delivery.py" in node:
        return "delivery"
    return "property"


def properties() -> list[str]:
    """The node ids make fuzz runs: every hypothesis test of FILES, and the counted tests."""
    import pytest

    found: list[str] = []

    class Collect:
        def pytest_collection_modifyitems(self, items):
            for it in items:
                obj = getattr(it, "obj", None)
                if getattr(obj, "is_hypothesis_test", False) or kind_of(it.nodeid) in (
                        "powercut", "kill"):
                    found.append(it.nodeid)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "--rootdir", str(ROOT), *(str(ROOT / "tests" / f) for f in FILES)],
                         plugins=[Collect()])
    if rc != 0:
        raise SystemExit(f"fuzz: collecting the properties failed (pytest exit {rc}):\n"
                         + out.getvalue()[-3000:])
    return found


def plan(nodes: list[str], scale: float, seed: int) -> list[dict]:
    """Every shard: per property, its budget cut into shards, each with its own seed."""
    tasks = []
    for node in nodes:
        kind = kind_of(node)
        b = BUDGETS[kind]
        left = max(1, round(b.total * scale))
        shard = 0
        while left > 0:
            n = min(b.shard, left)
            tasks.append({"node": node, "kind": kind, "seed": seed * 100_000 + shard,
                          "count": n, "read_db": str(DATABASE)})
            left -= n
            shard += 1
    return tasks


def report(tasks: list[dict], outcomes: list[dict], cpu: list[float]) -> tuple[str, int]:
    """The table per property and each failure with its shrunk example; (text, failures)."""
    rows: dict[str, list] = {}
    for t, o, s in zip(tasks, outcomes, cpu, strict=True):
        r = rows.setdefault(t["node"], [BUDGETS[t["kind"]].unit, 0, 0, 0, 0.0])
        r[1] += 1
        r[2] += o["examples"]
        r[3] += o["failed"]
        r[4] += s
    head = ["property", "unit", "shards", "run", "failed shards", "CPU s"]
    body = [[node.removeprefix("tests/"), u, str(n), f"{ex:,}", str(f), f"{sec:.0f}"]
            for node, (u, n, ex, f, sec) in rows.items()]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [head, ["-" * w for w in widths], *body]]
    failures = [(t, o) for t, o in zip(tasks, outcomes, strict=True) if o["failed"]]
    for t, o in failures:
        lines += ["", f"FAILED {t['node']} (shard seed {t['seed']}, {t['count']} "
                  f"{BUDGETS[t['kind']].unit}):", o["report"],
                  f"  reproduce: HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest "
                  f"'{t['node']}'  (the shrunk example is now in .hypothesis/examples and is "
                  "replayed first), or with the @reproduce_failure blob above; then add it "
                  "as a named regression test"]
    return "\n".join(lines), len(failures)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Budgets (total, shard size): " + "; ".join(
            f"{k} {b.total} {b.unit} in shards of {b.shard}" for k, b in BUDGETS.items()))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every budget (0.01 for a smoke run; at least 1 per property)")
    ap.add_argument("--seed", type=int, default=1,
                    help="base seed of the shards (a new one fuzzes new ground; default 1)")
    campaign_args.add_arguments(ap, ROOT / "build" / "fuzz.csv")
    args = ap.parse_args()
    if args.scale <= 0:
        ap.error("--scale must be positive")
    tasks = plan(properties(), args.scale, args.seed)
    res = campaign_args.run_or_collect(args, tasks, fuzzshard.run_shard, "fuzz")
    if res is None:
        return 1
    outcomes = res.outcomes()
    merged = sum(fuzzshard.merge_into(o["db"], DATABASE) for o in outcomes)
    text, failed = report(tasks, outcomes, [r.cpu_s for r in res.results])
    print(text)
    print(f"\n{len(tasks)} shards ({res.ran} run now, {res.skipped} from {args.results}); "
          f"{merged} new examples merged into {DATABASE.relative_to(ROOT)}; wall time "
          f"{res.wall_s:.0f} s, {campaign_args.cost(res):.0f} CPU s on the workers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(campaign_args.guarded(main, "fuzz"))
