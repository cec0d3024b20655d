"""SCH-1 on the emulated board: overruns are logged; a hung task ends in a watchdog reset,
after which the pump comes back with delivery stopped and an alarm saying why."""

from emu import Bench, events, run_inprocess, scenario


def test_overrun_below_the_watchdog_timeout_is_logged_not_reset():
    raw = scenario(actions=[{"at": "0:10:00", "fault": "stall", "task": "control", "ms": 1500}])
    _, text = run_inprocess(raw)
    evs = events(text)
    assert [e.fields["reason"] for e in evs if e.kind == "boot"] == ["power_on"]
    overruns = [e for e in evs if e.kind == "overrun"]
    assert [(e.fields["task"], e.int("took")) for e in overruns] == [("control", 1500)]
    assert any(e.kind == "miss" for e in evs)


def test_hung_task_triggers_watchdog_reset_and_a_safe_restart():
    raw = scenario(
        duration="2:00",
        basal_u_per_h=[[0, 2]],
        actions=[
            {"at": "0:20:00", "command": "bolus", "args": {"amount_u": 3}},
            {"at": "0:20:30", "fault": "stall", "task": "control", "ms": 60000},
        ],
    )
    app, text = run_inprocess(raw)
    evs = events(text)
    boots = [e for e in evs if e.kind == "boot"]
    assert [e.fields["reason"] for e in boots] == ["power_on", "watchdog"]
    assert boots[1].t_ms == 20 * 60_000 + 30_000 + 4000  # bites 4 s after the last feed
    alarm = next(e for e in evs if e.kind == "alarm" and e.fields.get("kind") == "watchdog")
    assert alarm.fields["prio"] == "high" and alarm.t_ms == boots[1].t_ms
    # the bolus cut short by the reset is closed, not resumed, and nothing runs until acknowledged
    ended = [e.fields["reason"] for e in evs if e.kind == "bolus" and e.fields["state"] == "ended"]
    assert ended == ["power_loss"]
    assert not [e for e in evs if e.kind == "pulse" and e.t_ms >= boots[1].t_ms]
    assert app.alarms.blocks_delivery()


def test_acknowledging_the_watchdog_alarm_resumes_basal():
    b = Bench(scenario(basal_u_per_h=[[0, 2]]))
    b.driver.stall("control", 10_000)
    b.run_for(1000)  # the watchdog bites; the bench reboots the pump as the board would
    assert [e.fields["reason"] for e in b.events("boot")] == ["power_on", "watchdog"]
    pulses = b.board.motor.pulses
    b.run_for(600_000)
    assert b.board.motor.pulses == pulses
    assert b.app.ack(b.now, "watchdog")
    b.run_for(600_000)
    assert b.board.motor.pulses - pulses == round(2000 * 10 / 60 / 50)  # 10 min at 2 U/h, nearest
