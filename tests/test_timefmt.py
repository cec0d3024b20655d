"""The host's one time formatter (host/pumpctl/timefmt.py) against the scenario loader."""

from boards.emu.scenario import parse_time
from hypothesis import given
from hypothesis import strategies as st
from pumpctl.timefmt import hms, time_of_day

MS = st.integers(0, 1000 * 3600 * 1000)


@given(MS)
def test_scenario_loader_reads_back_what_hms_writes(ms):
    assert parse_time(hms(ms), "at") == ms // 1000 * 1000
    up = parse_time(hms(ms, round_up=True), "at")
    assert ms <= up < ms + 1000  # a scenario time that never comes before ms


def test_hms_examples():
    assert hms(27 * 3600_000 + 5 * 60_000) == "27:05:00"  # hours are not wrapped
    assert hms(3_723_456, tenths=True) == "1:02:03.4"
    assert hms(1, round_up=True) == "0:00:01" and hms(1000, round_up=True) == "0:00:01"


def test_time_of_day_adds_the_offset_and_names_the_day():
    assert time_of_day(0, 7 * 3600_000 + 30 * 60_000) == "      07:30:00"
    assert time_of_day(30 * 60_000, 23 * 3600_000 + 50 * 60_000) == "day 2 00:20:00"
