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


def _host_bolus(bench, args):
    """The bolus command as it arrives over the serial link (pump.hostlink)."""
    from pump.hostlink import HostLink

    host = HostLink(bench.app, bench.board.link)
    host._now = bench.board.clock.ticks_ms()
    return host.handle("bolus", args)


def _press(bench, hold_ms):
    clock = bench.board.clock
    bench.board.button.press(clock.now + 100, clock.now + 100 + hold_ms)
    bench.run_for(hold_ms + 300)


def test_a_bolus_from_the_host_starts_only_when_confirmed_on_the_pump():
    """Issue 4: the monitor may request a bolus; the device still asks the user to confirm."""
    from emu import Bench

    b = Bench(scenario(duration="1:00", basal_u_per_h=[[0, 0]]))
    assert _host_bolus(b, {"amount_u": 1, "duration_min": 30}) == (True, "confirm_on_pump")
    b.run_for(5000)
    assert b.board.motor.pulses == 0 and b.app.delivery.bolus is None  # offered, not started
    assert b.events("button")[-1].fields == {
        "state": "offered", "amount": "1000", "duration": "1800000", "src": "host"
    }
    _press(b, 1500)  # the long press confirms
    started = b.events("bolus")[-1].fields
    assert (started["state"], started["amount"], started["kind"], started["src"]) == (
        "started", "1000", "extended", "host"
    )


def test_an_unconfirmed_host_bolus_lapses_and_delivers_nothing():
    from emu import Bench

    b = Bench(scenario(duration="1:00", basal_u_per_h=[[0, 0]]))
    assert _host_bolus(b, {"amount_u": 2})[0] is True
    b.run_for(60_000)
    assert b.events("button")[-1].fields["state"] == "timeout"
    assert b.board.motor.pulses == 0 and not b.events("bolus")


def test_a_host_bolus_that_would_be_refused_is_refused_at_once():
    from emu import Bench

    b = Bench(scenario(duration="1:00", basal_u_per_h=[[0, 0]], settings={"max_bolus_u": 2}))
    assert _host_bolus(b, {"amount_u": 3}) == (False, "over_max_bolus")
    b.app.delivery.set_mode(b.now, "suspended", "user")
    assert _host_bolus(b, {"amount_u": 1}) == (False, "suspended")
    assert b.app.button.state == 0  # nothing offered
