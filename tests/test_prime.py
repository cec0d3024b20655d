"""The prime at a set change (DEL-7): a cannula fill counted as priming, never as a dose, and
the pulses the line detectors learn a new site's open-line response from (pump/bolusline.py)."""

import pytest
from emu import Bench, run_inprocess, scenario
from emu import events as parse_events
from pump import commands
from pump.units import InputError
from pumpctl import detectbench
from pumpctl.linesim import simulate

HOUR = 3_600_000


def _prime_day(amount_u=1.0, **kw):
    raw = scenario(
        duration="1:00:00",
        basal_u_per_h=[[0, 1.0]],
        actions=[
            {"at": "0:05:00", "command": "set_changed"},
            {"at": "0:05:10", "command": "prime", "args": {"amount_u": amount_u}},
        ],
        **kw,
    )
    app, text = run_inprocess(raw)
    return app, parse_events(text)


def test_a_prime_is_priming_not_delivered_insulin():
    app, evs = _prime_day(1.0)
    d = app.delivery
    primes = [e for e in evs if e.kind == "pulse" and e.fields["src"] == "prime"]
    assert len(primes) == 20 and d.prime_given == 1000
    assert d.bolus_given == 0 and d.bolus_count == 0  # not a bolus, takes no bolus id
    assert d.basal_given + d.bolus_given + d.prime_given == d.pushed
    assert app.board.motor.pulses * 50 == d.pushed
    assert d.reservoir == app.settings.reservoir - d.pushed
    started, ended = [e for e in evs if e.kind == "prime"]
    assert started.fields["state"] == "started" and started.int("amount") == 1000
    assert ended.fields["reason"] == "done" and ended.int("delivered") == 1000
    assert app.therapy.iob() == 0  # basal is not counted by default, and a prime never is
    assert not [e for e in evs if e.kind == "reminder" and e.fields.get("kind") == "bg_check"]
    end = [e for e in evs if e.kind == "end"][-1]
    assert end.int("delivered") == d.basal_given  # the prime is not delivered insulin


def test_a_bad_prime_is_refused_with_its_reason():
    with pytest.raises(InputError, match="amount_u"):
        commands.parse("prime", {"amount_u": 1.05})  # more than a cannula fill
    with pytest.raises(InputError, match="amount_u"):
        commands.parse("prime", {})
    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 0]]))
    app = b.app
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    assert commands.execute(app, b.now, ("prime", 70, 0), "host") == "not_whole_pulses"
    assert commands.execute(app, b.now, ("suspend", 0, 0), "host") is None
    assert commands.execute(app, b.now, ("prime", 500, 0), "host") == "suspended"
    assert app.delivery.pushed == 0


def _refusals(b):
    return [e.fields["reason"] for e in b.events("refused") if e.fields["what"] == "prime"]


def test_a_prime_is_refused_unless_a_set_change_came_since_the_last_one():
    """DEL-7: a prime fills a NEW set's cannula; one with the cannula in the body would give
    insulin that IOB does not count. Refused (``no_set_change``, from the host and when
    offered for the long press) before any set change, after a prime until the next set
    change, and after a reboot (the flag is not journaled: the set change is told again)."""
    b = Bench(scenario(duration="1:00:00", basal_u_per_h=[[0, 0]]))
    app = b.app
    prime = ("prime", 100, 0)
    assert commands.execute(app, b.now, prime, "host") == "no_set_change"
    assert commands.execute(app, b.now, prime, "host", confirm_on_pump=True) == "no_set_change"
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    assert commands.execute(app, b.now, prime, "host") is None
    b.run_for(20_000)
    assert app.delivery.prime_given == 100
    assert commands.execute(app, b.now, prime, "host") == "no_set_change"  # primed already
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    b.reboot()
    app = b.app
    assert commands.execute(app, b.now, prime, "host") == "no_set_change"
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    assert commands.execute(app, b.now, prime, "host") is None
    b.run_for(20_000)
    assert app.delivery.prime_given == 100  # since the reboot
    assert _refusals(b) == ["no_set_change"] * 4


def test_a_prime_that_would_pass_a_rolling_limit_is_refused_not_held_part_way():
    """DEL-4: the motor pushes a prime's insulin too, so the hour and day limits refuse it up
    front with their reason; before, it started and was held part way by the run-time limit
    (a half-filled cannula the user was not told of at the request)."""
    b = Bench(
        scenario(
            duration="1:00:00",
            settings={"max_bolus_u": 5, "max_u_per_h": 5.5, "max_u_per_day": 20},
            basal_u_per_h=[[0, 0]],
        )
    )
    app = b.app
    assert commands.execute(app, b.now, ("bolus", 5000, 0), "host") is None
    b.run_for(300_000)
    assert app.delivery.bolus_given == 5000
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    assert commands.execute(app, b.now, ("prime", 1000, 0), "host") == "over_max_per_hour"
    assert commands.execute(app, b.now, ("prime", 1000, 0), "host", confirm_on_pump=True) == (
        "over_max_per_hour"
    )
    assert commands.execute(app, b.now, ("prime", 500, 0), "host") is None  # 5.5 U in the hour
    b.run_for(60_000)
    assert app.delivery.prime_given == 500 and app.delivery.pushed == 5500
    assert _refusals(b) == ["over_max_per_hour"] * 2


def test_a_prime_from_the_link_starts_only_on_the_long_press_and_a_press_cancels_it():
    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 0]]))
    app = b.app
    assert commands.execute(app, b.now, ("set_changed", 0, 0), "host") is None
    cmd = commands.parse("prime", {"amount_u": 0.5})
    assert commands.execute(app, b.now, cmd, "host", confirm_on_pump=True) is None
    b.run_for(5000)
    assert app.delivery.pushed == 0  # offered, not started
    b.board.button.press(b.board.clock.now, b.board.clock.now + 1500)  # the long press
    b.run_for(6000)
    assert app.delivery.prime_given > 0 and app.delivery.bolus_given == 0
    b.board.button.press(b.board.clock.now, b.board.clock.now + 150)  # a short one: stop it
    b.run_for(1000)
    [ended] = [e for e in b.events("prime") if e.fields["state"] == "ended"]
    assert ended.fields["reason"] == "cancel_button"
    assert 0 < app.delivery.prime_given < 500 and app.delivery.bolus is None


def test_the_firmware_learns_the_new_sites_bolus_response_from_its_prime():
    """Through the app: a set change forgets the open-line response to a train of pulses,
    the prime's pulses teach it again (before any bolus)."""
    raw = scenario(duration="1:00:00", basal_u_per_h=[[0, 1.0]],
                   plant={"sample": 12, "widened": True})
    b = Bench(raw)
    b.run_for(120_000)
    assert commands.execute(b.app, b.now, ("set_changed", 0, 0), "host") is None
    assert not b.app.line.watch.bolus.learned()
    assert commands.execute(b.app, b.now, ("prime", 1000, 0), "host") is None
    b.run_for(240_000)  # learned when the run ends: at the next pulse (basal, 3 min later)
    bolus = b.app.line.watch.bolus
    assert bolus.learned() and bolus.a > 0 and bolus.b12 > 0


@pytest.mark.parametrize("seed", [3, 8, 21, 40])
def test_a_prime_teaches_the_open_response_on_widened_sites(seed):
    """On the plant: 20 prime pulses on a new site leave the bolus test a learned open-line
    response, as a first bolus would; no prime, nothing learned before the first bolus."""
    params = detectbench.plant(seed, widened=True)
    primed = simulate(params, seed, 30 * 60_000, 1000, boluses=[(60_000, 20)])
    bare = simulate(params, seed, 30 * 60_000, 1000)
    assert primed.watch.bolus.learned() and not bare.watch.bolus.learned()
    assert not primed.alarms and not bare.alarms
