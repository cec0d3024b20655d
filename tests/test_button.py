"""pump.button: the seed's meal-time button bolus (DEL-3), driven through the emulated button."""

from emu import run_inprocess, scenario


def run(actions, **kw):
    raw = scenario(duration="2:00", basal_u_per_h=[[0, 0]], actions=actions, **kw)
    app, text = run_inprocess(raw)
    from emu import events

    return app, events(text)


def states(evs):
    return [
        (e.kind, e.fields.get("state") or e.fields.get("pattern") or e.fields.get("reason"))
        for e in evs
        if e.kind in ("button", "beep", "bolus", "refused")
    ]


def test_each_press_adds_a_step_with_a_beep_and_a_long_press_confirms():
    app, evs = run([{"at": "0:01:00", "press": [150, 150, 150, 1500]}])
    beeps = [e.fields.get("n") for e in evs if e.kind == "beep" and e.fields["pattern"] == "step"]
    assert beeps == ["1", "2", "3"]
    started = [e for e in evs if e.kind == "bolus" and e.fields["state"] == "started"]
    assert [(e.int("amount"), e.fields["src"]) for e in started] == [(1500, "button")]
    assert app.delivery.bolus_given == 1500
    assert ("beep", "confirm") in states(evs)


def test_timeout_cancels_the_selection():
    app, evs = run([{"at": "0:01:00", "press": [150, 150]}])
    assert ("button", "timeout") in states(evs) and ("beep", "cancel") in states(evs)
    assert app.delivery.bolus_given == 0
    timeout = next(e for e in evs if e.kind == "button" and e.fields["state"] == "timeout")
    last_release = 60_000 + 150 + 500 + 150
    assert 10_000 <= timeout.t_ms - last_release < 10_100  # button_timeout_s=10, 100 ms sampling


def test_a_press_during_a_running_bolus_cancels_it():
    app, evs = run(
        [
            {"at": "0:01:00", "command": "bolus", "args": {"amount_u": 4}},
            {"at": "0:01:30", "press": 150},
        ]
    )
    ended = next(e for e in evs if e.kind == "bolus" and e.fields["state"] == "ended")
    assert ended.fields["reason"] == "cancel_button"
    assert 0 < ended.int("delivered") < 4000 == ended.int("amount")
    assert app.delivery.bolus is None and ("beep", "cancel") in states(evs)


def test_no_bolus_while_suspended_or_alarmed():
    app, evs = run(
        [
            {"at": "0:01:00", "command": "suspend"},
            {"at": "0:02:00", "press": [150, 1500]},
        ]
    )
    assert ("refused", "suspended") in states(evs) and ("beep", "error") in states(evs)
    assert app.delivery.bolus_given == 0

    app, evs = run([{"at": "0:02:00", "press": [150, 1500]}], settings={"reservoir_u": 0})
    assert ("refused", "alarm") in states(evs)
    assert app.delivery.bolus_given == 0


def test_steps_stop_at_the_max_bolus_with_an_error_beep():
    app, evs = run(
        [{"at": "0:01:00", "press": [150, 150, 150, 1500]}],
        settings={"max_bolus_u": 1, "button_step_u": 0.5},
    )
    assert ("refused", "over_max_bolus") in states(evs)
    assert app.delivery.bolus_given == 1000
