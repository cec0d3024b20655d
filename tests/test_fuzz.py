"""make fuzz's shards (pumpctl.fuzzshard): a property run with its own seed, budget and example
database; a failure comes back shrunk, and its saved example, merged into another database,
is replayed first by the next run."""

from pathlib import Path

from pumpctl.fuzzshard import merge_into, run_shard

REPO = Path(__file__).resolve().parents[1]
PLANTED = """
from hypothesis import given, strategies as st


@given(st.integers())
def test_small(n):
    assert n < 1000
"""


def test_a_shard_runs_its_budget_of_a_real_property():
    out = run_shard("tests/test_protocol.py::test_round_trip_in_any_chunking", "property", 3, 7)
    assert out["examples"] >= 7 and not out["failed"] and out["report"] == ""


def test_a_failure_is_shrunk_saved_merged_and_replayed_first(tmp_path):
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_planted.py").write_text(PLANTED)
    node = f"{tmp_path}/test_planted.py::test_small"
    out = run_shard(node, "property", 1, 300)
    assert out["failed"]
    assert "test case: test_small(" in out["report"] and "n=1000," in out["report"]  # shrunk
    assert "reproduce_failure" in out["report"]
    merged = tmp_path / "merged"
    assert merge_into(out["db"], merged) > 0
    assert merge_into(out["db"], merged) == 0  # content-addressed: nothing new the second time
    again = run_shard(node, "property", 99, 1, read_db=str(merged))  # one example: the saved one
    assert again["failed"] and "n=1000," in again["report"]
