"""pump.delivery (DEL-1..DEL-6) on the emulated board under CPython."""

from fractions import Fraction

import pytest
from basal_model import BasalModel
from emu import Bench, events, run_inprocess, scenario
from hypothesis import given
from strategies import programs

PULSE = 50


def model_for(raw, evs) -> BasalModel:
    model = BasalModel(
        raw["basal_u_per_h"],
        int(raw["start_time"].split(":")[0]) * 3_600_000
        + int(raw["start_time"].split(":")[1]) * 60_000,
    )
    results = iter(e for e in evs if e.kind == "command")
    for action in raw["actions"]:
        h, m, s = (int(x) for x in action["at"].split(":"))
        t = ((h * 60 + m) * 60 + s) * 1000
        result = next(results)
        if result.fields["result"] != "ok":
            continue
        name, args = action["command"], action.get("args", {})
        if name == "temp_basal":
            rate = round(args["rate_u_per_h"] * 1000) if "rate_u_per_h" in args else None
            model.changes.append(
                (t, "temp", (rate, args.get("percent"), args["duration_min"] * 60_000))
            )
        elif name in ("suspend", "resume", "cancel_temp"):
            model.changes.append((t, name, None))
    return model


@given(programs())
def test_basal_delivered_stays_within_one_pulse_of_programmed_at_every_instant(raw):
    """DEL-1: checked just before and just after every basal pulse and at the end.

    Between pulses delivered is flat and programmed only grows, so these are the extremes."""
    _, text = run_inprocess(raw)
    evs = events(text)
    model = model_for(raw, evs)
    basal = 0
    for e in evs:
        if e.kind == "pulse" and e.fields["src"] == "basal":
            programmed = model.programmed(e.t_ms)
            assert abs(basal - programmed) < PULSE, (e, basal, float(programmed))
            basal += PULSE
            assert abs(basal - programmed) < PULSE, (e, basal, float(programmed))
    end = evs[-1]
    assert end.kind == "end" and end.int("basal") == basal
    assert abs(basal - model.programmed(end.t_ms)) < PULSE


@given(programs())
def test_boluses_deliver_exactly_their_amount_and_never_touch_basal(raw):
    app, text = run_inprocess(raw)
    evs = events(text)
    started = {e.int("id"): e for e in evs if e.kind == "bolus" and e.fields["state"] == "started"}
    ended = {e.int("id"): e for e in evs if e.kind == "bolus" and e.fields["state"] == "ended"}
    bolus_pulses = sum(1 for e in evs if e.kind == "pulse" and e.fields["src"] == "bolus")
    assert bolus_pulses * PULSE == sum(e.int("delivered") for e in ended.values()) + (
        app.delivery.bolus.delivered() if app.delivery.bolus else 0
    )
    for ident, end in ended.items():
        assert end.int("delivered") <= started[ident].int("amount")
        if end.fields["reason"] == "done":
            assert end.int("delivered") == started[ident].int("amount")
    # a bolus never changes the basal rate: no basal event coincides with a bolus start
    bolus_starts = {e.t_ms for e in started.values()}
    assert not [
        e
        for e in evs
        if e.kind == "basal"
        and e.t_ms in bolus_starts
        and not any(
            c.t_ms == e.t_ms and c.kind == "command" and c.fields["name"] != "bolus" for c in evs
        )
    ]


def test_normal_bolus_runs_at_configured_speed_and_extended_is_spread_evenly():
    raw = scenario(
        basal_u_per_h=[[0, 0]],
        actions=[
            {"at": "0:01:00", "command": "bolus", "args": {"amount_u": 1.5}},
            {"at": "0:10:00", "command": "bolus", "args": {"amount_u": 1.0, "duration_min": 40}},
        ],
    )
    _, text = run_inprocess(raw)
    pulses = [e.t_ms for e in events(text) if e.kind == "pulse"]
    normal, extended = pulses[:30], pulses[30:]
    assert len(normal) == 30 and len(extended) == 20
    # 1.5 U/min with 0.05 U pulses: one pulse every 2 s, the first at once
    assert normal == [60_000 + 2000 * k for k in range(30)]
    # 20 pulses over 40 min: one every 2 min
    assert extended == [600_000 + 120_000 * k for k in range(20)]


@pytest.mark.parametrize("push_ms, speed, period", [(1500, 5, 1900), (1500, 1.5, 2000),
                                                     (0, 5, 600), (1200, 4.2, 1600)])
def test_a_bolus_is_trained_no_faster_than_the_motor_pushes_a_pulse(push_ms, speed, period):
    """The emulated motor takes ``push_ms`` per pulse (hal.Motor.push_ms): the bolus's pulses
    come at the speed setting's period or, if the motor cannot keep up, at its push time plus
    pump.bolus.PUSH_REST_MS (400 ms); the bolus event says the real duration and the line
    task judges the bolus at the same period."""
    raw = scenario(
        duration="0:03",
        basal_u_per_h=[[0, 0]],
        settings={"bolus_u_per_min": speed},
        plant={"pulse_ms": push_ms},
        actions=[{"at": "0:01:00", "command": "bolus", "args": {"amount_u": 1.0}}],
    )
    app, text = run_inprocess(raw)
    evs = events(text)
    pulses = [e.t_ms for e in evs if e.kind == "pulse"]
    # the Bresenham train lands each pulse on the first 100 ms tick at or after its time
    assert pulses == [60_000 + -(-period * k // 100) * 100 for k in range(20)]
    started = [e for e in evs if e.kind == "bolus" and e.fields["state"] == "started"]
    assert started[0].int("duration") == 20 * period
    assert app.line.watch.bolus.p_ms == period
    assert app.board.motor.push_ms == push_ms


def test_limits_refuse_with_a_reason_never_truncate():
    raw = scenario(
        settings={"max_bolus_u": 5, "max_u_per_h": 6, "max_u_per_day": 20},
        basal_u_per_h=[[0, 0.5]],
        actions=[
            {"at": "0:00:10", "command": "bolus", "args": {"amount_u": 5.05}},
            {"at": "0:00:20", "command": "bolus", "args": {"amount_u": 0.07}},
            {"at": "0:00:30", "command": "bolus", "args": {"amount_u": 5}},
            {"at": "0:10:00", "command": "bolus", "args": {"amount_u": 1}},
            {
                "at": "0:20:00",
                "command": "temp_basal",
                "args": {"rate_u_per_h": 3.5, "duration_min": 30},
            },
            {
                "at": "0:21:00",
                "command": "temp_basal",
                "args": {"percent": 700, "duration_min": 30},
            },
        ],
    )
    _, text = run_inprocess(raw)
    refused = [(e.fields["what"], e.fields["reason"]) for e in events(text) if e.kind == "refused"]
    assert refused == [
        ("bolus", "over_max_bolus"),
        ("bolus", "not_whole_pulses"),
        ("bolus", "over_max_per_hour"),  # 5 U given + basal in the last hour + 1 U > 6 U
        ("temp", "over_max_basal"),
        ("temp", "over_max_percent"),
    ]
    started = [
        e.int("amount")
        for e in events(text)
        if e.kind == "bolus" and e.fields["state"] == "started"
    ]
    assert started == [5000]


def test_suspend_stops_everything_and_resume_restarts_basal_only():
    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 3]]))
    b.run_for(60_000)
    assert b.app.delivery.request_bolus(b.now, 2000, 0, "host") is None
    b.run_for(5_000)
    assert b.app.delivery.set_mode(b.now, "suspended", "user") is None
    given = b.app.delivery.basal_given + b.app.delivery.bolus_given
    b.run_for(3_600_000)
    assert b.app.delivery.basal_given + b.app.delivery.bolus_given == given  # DEL-5
    assert b.app.delivery.bolus is None
    assert b.app.delivery.request_bolus(b.now, 500, 0, "host") == "suspended"
    assert b.app.delivery.set_mode(b.now, "run", "user") is None
    b.run_for(3_600_000)
    assert (
        b.app.delivery.basal_given - (given - b.app.delivery.bolus_given) == 3000 - 0
    )  # one hour at 3 U/h
    ends = [e.fields["reason"] for e in b.events("bolus") if e.fields["state"] == "ended"]
    assert ends == ["suspended"]


def test_reservoir_empty_raises_alarm_and_stops_delivery():
    raw = scenario(
        duration="3:00", settings={"reservoir_u": 1, "low_reservoir_u": 0.5}, basal_u_per_h=[[0, 1]]
    )
    app, text = run_inprocess(raw)
    evs = events(text)
    alarms = [(e.fields["kind"], e.fields["state"]) for e in evs if e.kind == "alarm"]
    assert ("reservoir_low", "raised") in alarms and ("reservoir_empty", "raised") in alarms
    assert app.delivery.basal_given == 1000 and app.delivery.reservoir == 0
    empty_t = next(
        e.t_ms for e in evs if e.kind == "alarm" and e.fields["kind"] == "reservoir_empty"
    )
    assert not [e for e in evs if e.kind == "pulse" and e.t_ms > empty_t]
    # 20 pulses at 1 U/h; a pulse fires when half of it is programmed: the last at 19.5/20 h
    assert Fraction(empty_t, 3_600_000) == Fraction(39, 40)


def test_reservoir_time_left_is_reported_on_every_rate_change_and_bolus():
    raw = scenario(
        basal_u_per_h=[[0, 1], [30, 2]],
        actions=[{"at": "0:40:00", "command": "bolus", "args": {"amount_u": 1}}],
    )
    _, text = run_inprocess(raw)
    evs = events(text)
    reports = [(e.t_ms, e.int("left"), e.int("min_left")) for e in evs if e.kind == "reservoir"]
    assert reports[0] == (0, 300_000, 18_000)  # 300 U at 1 U/h
    at_30 = [r for r in reports if r[0] == 1_800_000]
    assert at_30 and at_30[0][2] == at_30[0][1] * 60 // 2000
    bolus_end = next(e.t_ms for e in evs if e.kind == "bolus" and e.fields["state"] == "ended")
    assert any(t == bolus_end for t, _, _ in reports)


def test_a_new_profile_cannot_lift_a_percent_temp_over_max_basal():
    """Regression (review): 200 % of a 1 U/h profile, then a 3 U/h profile, ran at 6 U/h."""
    b = Bench(scenario(settings={"max_basal_u_per_h": 3}, basal_u_per_h=[[0, 1]]))
    assert b.app.delivery.set_temp(b.now, -1, 200, 3_600_000) is None
    from pump.basal import BasalProfile

    assert b.app.delivery.set_profile(b.now, BasalProfile.flat(3000)) == "over_max_basal_with_temp"
    assert b.app.delivery.rate == 2000


def test_a_pulse_held_by_a_limit_raises_the_limit_alarm_and_clears_when_allowed():
    """Regression (review): a basal pulse held by the hourly limit was silent."""
    b = Bench(scenario(duration="10:00", settings={"max_bolus_u": 0.5, "max_u_per_h": 0.5},
                       basal_u_per_h=[[0, 1]]))  # fmt: skip
    b.run_for(40 * 60_000)  # 1 U/h against 0.5 U per hour: held after 10 pulses
    assert b.app.alarms.standing("limit") and b.app.alarms.find("limit").priority == 2
    assert b.app.delivery.totals.hour == 500
    b.run_for(30 * 60_000)  # the first pulses leave the window: delivery goes on, alarm clears
    states = [e.fields["state"] for e in b.events("alarm") if e.fields["kind"] == "limit"]
    assert states[0] == "raised" and "cleared" in states
