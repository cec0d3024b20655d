"""BG-1: glucose readings on the pump (pump/glucose.py, the bg/cgm commands, the alarms)."""

import pytest
from emu import Bench, scenario
from hypothesis import given
from hypothesis import strategies as st
from pump import commands, glucose
from pump.units import InputError


@given(st.integers(glucose.MIN_MGDL, glucose.MAX_MGDL))
def test_mmol_round_trip_is_within_half_a_tenth(mgdl):
    tenths = glucose.mmol_tenths(mgdl)
    assert abs(tenths / 10 * 18.016 - mgdl) <= 0.05 * 18.016 + 1e-9
    assert glucose.show(mgdl, "mmol/L") == f"{tenths // 10}.{tenths % 10}"


@given(st.integers(11, 333))
def test_mmol_in_is_x_18_016_rounded(tenths):
    assert glucose.parse_value({"mmol": tenths / 10}, "bg") == round(tenths * 18.016 / 10)


@pytest.mark.parametrize(
    "args,where",
    [
        ({"mgdl": 19}, "args.mgdl"),
        ({"mgdl": 601}, "args.mgdl"),
        ({"mgdl": "120"}, "args.mgdl"),
        ({"mgdl": 120.5}, "args.mgdl"),
        ({"mmol": 40}, "args.mmol"),
        ({"mmol": "7"}, "args.mmol"),
        ({"mgdl": 100, "mmol": 5.5}, "args"),
        ({}, "args"),
        ({"mgdl": 100, "source": "meter"}, "args.source"),
        ({"mgdl": 100, "when": 3}, "args.when"),
    ],
)
def test_bad_readings_are_refused_naming_the_field(args, where):
    with pytest.raises(InputError) as e:
        commands.parse("bg", args, "command")
    assert e.value.where == "command." + where


def run_with(actions, hours="2:00", **settings):
    bench = Bench(scenario(duration="100:00", settings=settings, basal_u_per_h=[[0, 1.0]]))
    for at_min, name, args in actions:
        bench.run_for(at_min * 60_000 - bench.board.clock.now)
        commands.execute(bench.app, bench.now, commands.parse(name, args), "host")
    return bench


def alarm_states(bench, kind):
    return [e.fields["state"] for e in bench.events("alarm") if e.fields["kind"] == kind]


def test_low_urgent_low_and_high_raise_and_clear():
    bench = run_with([(5, "bg", {"mgdl": 65}), (10, "bg", {"mgdl": 50}), (15, "bg", {"mgdl": 120}),
                      (20, "cgm", {"mgdl": 260})])  # fmt: skip
    for kind in ("bg_low", "bg_urgent_low"):  # unacknowledged meanwhile: escalated too
        states = [s for s in alarm_states(bench, kind) if s != "escalated"]
        assert states == ["raised", "cleared"]
    assert alarm_states(bench, "bg_high") == ["raised"]
    raised = [e for e in bench.events("alarm") if e.fields.get("state") == "raised"]
    assert {e.fields["kind"]: e.fields["prio"] for e in raised} == {
        "bg_low": "medium", "bg_urgent_low": "high", "bg_high": "low"}  # fmt: skip


def test_settable_low_threshold():
    bench = run_with([(5, "bg", {"mgdl": 75})], bg_low_mgdl=80)
    assert alarm_states(bench, "bg_low") == ["raised"]


def ack(bench):
    commands.execute(bench.app, bench.now, commands.parse("ack", {"kind": "bg_urgent_low"}), "host")


def reading(bench, mgdl):
    commands.execute(bench.app, bench.now, commands.parse("cgm", {"mgdl": mgdl}), "host")
    bench.run_for(1000)


def test_urgent_low_never_acknowledged_holds_insulin_after_it_clears():
    """ALM-1 / DEL-5: a high-priority alarm stops delivery until it has cleared AND been
    acknowledged; an urgent low that recovers unseen keeps insulin held until a person sees it."""
    bench = run_with([(5, "cgm", {"mgdl": 50})])
    assert bench.app.delivery.rate == 0
    reading(bench, 90)
    assert alarm_states(bench, "bg_urgent_low")[-1] == "cleared"
    bench.run_for(10 * 60_000)
    assert bench.app.delivery.rate == 0  # cleared, never acknowledged
    ack(bench)
    bench.run_for(1000)
    assert bench.app.delivery.rate == 1000


def test_urgent_low_acknowledged_then_rearmed_releases_insulin_when_it_clears():
    """DEL-5: acknowledged once, the alarm re-arms while the low stands (ALM-1) and sounds on
    after the low has gone, but insulin resumes when it clears, as it does when the low clears
    before the re-arm: a user asleep after the first acknowledgement is not left without
    insulin. The next occurrence must be acknowledged again."""
    bench = run_with([(5, "cgm", {"mgdl": 50})])
    ack(bench)
    bench.run_for(1000)
    assert bench.app.delivery.rate == 0  # acknowledged, but the cause stands
    bench.run_for(5 * 60_000)
    assert "rearmed" in alarm_states(bench, "bg_urgent_low")
    assert bench.app.delivery.rate == 0
    reading(bench, 90)
    assert alarm_states(bench, "bg_urgent_low")[-1] == "cleared"
    assert bench.app.delivery.rate == 1000
    assert bench.app.alarms.find("bg_urgent_low").active  # still sounding until acknowledged
    # the low comes back before anyone acknowledged the re-armed alarm: a new occurrence
    reading(bench, 50)
    assert alarm_states(bench, "bg_urgent_low")[-1] == "raised"
    reading(bench, 90)
    bench.run_for(5 * 60_000)
    assert bench.app.delivery.rate == 0  # cleared, this occurrence never acknowledged
    ack(bench)
    bench.run_for(1000)
    assert bench.app.delivery.rate == 1000 and bench.app.alarms.find("bg_urgent_low") is None


def test_stale_cgm_after_20_minutes_and_back_with_a_reading():
    bench = run_with([(5, "cgm", {"mgdl": 120}), (24, "cgm", {"mgdl": 120})])
    assert alarm_states(bench, "cgm_stale") == []
    bench.run_for(20 * 60_000)
    stale = [e for e in bench.events("alarm") if e.fields["kind"] == "cgm_stale"]
    assert stale and stale[0].fields["state"] == "raised"
    assert 44 * 60_000 <= stale[0].t_ms <= 44 * 60_000 + 2000
    commands.execute(bench.app, bench.now, commands.parse("cgm", {"mgdl": 121}), "host")
    assert alarm_states(bench, "cgm_stale")[-1] == "cleared"


def test_finger_sticks_alone_never_go_stale():
    bench = run_with([(5, "bg", {"mgdl": 120})])
    bench.run_for(3 * 3600_000)
    assert alarm_states(bench, "cgm_stale") == []


def test_trend_from_the_cgm_stream():
    bench = run_with([(5 * k, "cgm", {"mgdl": 100 + 15 * k}) for k in range(1, 5)])
    assert bench.events("bg")[-1].fields["trend"] == "up3"


def test_readings_and_their_alarms_survive_a_reboot():
    bench = run_with([(5, "cgm", {"mgdl": 140}), (10, "cgm", {"mgdl": 62})])
    bench.reboot()
    g = bench.app.therapy.glucose
    assert [g.values[i] for i in range(g.count)] == [140, 62]
    bench.run_for(2000)
    assert bench.app.alarms.standing("bg_low")
    bench.run_for(25 * 60_000)  # the stream stopped at the cut: stale, counted across it
    assert bench.app.alarms.standing("cgm_stale")


def test_mmol_command_and_display_setting():
    bench = run_with([(5, "bg", {"mmol": 5.5})], glucose_unit="mmol/L")
    assert bench.events("bg")[-1].fields["mgdl"] == "99"
    assert glucose.show(99, bench.app.settings.glucose_unit) == "5.5"
