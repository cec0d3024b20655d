"""Golden event logs (tests/golden/*.events): each scenario's log, byte for byte, on CPython.

The differential tests compare two interpreters, so a change that alters both logs alike passes
them; these logs catch it. A change meant to alter a log: `make golden`, review the diff, commit
the new log and say why in the commit message. Generated on CPython (see tools/golden.py for why).
"""

import sys

import pytest
from emu import REPO

sys.path.insert(0, str(REPO / "tools"))

import golden  # noqa: E402


@pytest.mark.parametrize("name", list(golden.SCENARIOS))
def test_event_log_matches_its_golden_file(name):
    path = golden.golden_path(name)
    assert path.exists(), f"{path} is missing: run `make golden`"
    expected = path.read_bytes()
    actual = golden.event_log(name, cpython=True)
    if actual != expected:
        pytest.fail(
            f"the event log of {name} differs from {path.relative_to(REPO)}:\n"
            + golden.first_difference(expected, actual, name)
            + "\nIf this change is on purpose: `make golden`, review the diff, commit it.",
            pytrace=False,
        )


def test_a_changed_log_is_shown_as_a_diff_of_its_first_differing_lines():
    expected = b"".join(b"%d pulse total=%d\n" % (i, i) for i in range(100))
    actual = expected.replace(b"50 pulse total=50", b"50 pulse total=51")
    shown = golden.first_difference(expected, actual, "x")
    assert "-50 pulse total=50" in shown and "+50 pulse total=51" in shown
    assert "10 pulse" not in shown  # only the lines around the difference
    assert "line endings" in golden.first_difference(b"a\n", b"a\r\n", "x")
