"""`pumpctl sim`: argument errors, a short co-simulation, the same bytes on both interpreters."""

import json

import pytest
from pumpctl import cli
from pumpctl.patient.params import patient
from pumpctl.patient.sim import Config, Simulation, fault_outcomes
from pumpctl.patient.spec import Fault, Meal


def sim_error(capsys, *argv):
    assert cli.main(["sim", *argv]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--patient", "adult#011"], ["--patient", "adult#011"]),
        (["--fault", "occlusion"], ["--fault", "'occlusion'"]),
        (["--fault", "clog@1d03:10"], ["--fault", "'clog'"]),
        (["--fault", "occlusion@1d3:99"], ["--fault", "1d3:99"]),
        (["--days", "1", "--fault", "leak@1d03:10"], ["--fault leak@1d03:10", "outside the run"]),
        (["--days", "0"], ["--days", "0"]),
        (["--seed", "-1"], ["--seed", "-1"]),
        (["--plot", "out.txt"], ["--plot", "out.txt"]),
    ],
)
def test_bad_arguments_name_the_flag_and_value(capsys, argv, names):
    err = sim_error(capsys, *argv)
    assert "Traceback" not in err
    for name in names:
        assert name in err


def test_bad_meal_file_names_the_field(tmp_path, capsys):
    meals = tmp_path / "meals.json"
    meals.write_text(json.dumps({"format": "pumpmeals/1",
                                 "meals": [{"at": "07:00", "carbs_g": 45},
                                           {"at": "2d12:00", "carbs_g": 70}]}))
    err = sim_error(capsys, "--days", "2", "--meals", str(meals))
    assert "meals[1].at" in err and "outside the run" in err
    meals.write_text("{not json")
    assert "not valid JSON" in sim_error(capsys, "--meals", str(meals))
    meals.write_text(json.dumps({"format": "pumpmeals/1", "meals": [{"at": "7:00",
                                                                     "carbs_g": "lots"}]}))
    assert "meals[0].carbs_g" in sim_error(capsys, "--meals", str(meals))


def short_config(interpreter="inprocess", seed=7, detection="firmware"):
    return Config(patient("adolescent#003"), 180, [Meal(30, 40)], [Fault("occlusion", 60)],
                  seed=seed, response_min=10, detection=detection, interpreter=interpreter)


def test_occlusion_stops_insulin_until_the_user_fixes_it():
    result = Simulation(short_config()).run()
    (out,) = fault_outcomes(result)
    assert out.alarm_min is not None and out.alarm_min - 60 <= 30
    assert out.fixed_min == out.alarm_min + 1 + 10  # alarm seen, the response time, set off
    # nothing reaches the tissue while the line is blocked, insulin flows again once fixed
    assert sum(result.insulin_u[62:out.fixed_min]) == 0
    assert sum(result.insulin_u[out.fixed_min + 1:]) > 0  # the new set is on a minute later
    assert sum(result.insulin_u[:60]) > 0


def test_without_detection_the_occlusion_stays():
    result = Simulation(short_config(detection="none")).run()
    assert fault_outcomes(result)[0].fixed_min is None
    assert sum(result.insulin_u[62:]) == 0


def test_same_seed_same_bytes_on_cpython_and_the_unix_port():
    unix = Simulation(short_config("unix")).run().to_bytes()
    cpython = Simulation(short_config("cpython")).run().to_bytes()
    assert unix == cpython
    assert Simulation(short_config("inprocess")).run().to_bytes() == cpython
    # and the bytes do depend on the seed (the comparison can fail)
    assert Simulation(short_config("inprocess", seed=8)).run().to_bytes() != cpython


def test_sim_prints_the_metrics(capsys):
    assert cli.main(["sim", "--patient", "child#001", "--days", "0.1", "--seed", "3",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patient"] == "child#001"
    assert 0 <= out["metrics"]["tir"] <= 100 and out["metrics"]["mean"] > 40


def test_a_fork_at_the_onset_runs_as_a_run_from_the_start():
    """The bench forks the detection arms at a fault's onset: the fork must be exact."""
    straight = Simulation(short_config(detection="firmware")).run().to_bytes()
    sim = Simulation(short_config(detection="firmware"))
    sim.advance(60)
    forked = sim.fork("firmware")
    assert forked.run().to_bytes() == straight
    assert sim.fork("none").run().to_bytes() != straight


def test_cosim_presses_the_pump_button():
    """The simulated user's hand: two short presses select 1.0 U, a long press confirms."""
    from boards.emu.cosim import CoSim

    sim = CoSim({"format": "pumpscenario/1", "seed": 3, "duration": "1:00",
                 "basal_u_per_h": [[0, 1.0]]})
    sim.handle("run 60000")
    sim.handle('do {"press": [300, 300, 1500]}')
    reply = sim.handle("run 120000")
    assert "button state=confirmed amount=1000" in reply
    assert "bolus state=ended id=1 delivered=1000" in reply
    assert sim.handle("do {").startswith("! ")  # a bad request is an error reply, not a crash


def test_default_meals_follow_the_time_of_day_the_run_starts_at():
    from pumpctl.patient.spec import default_meals

    assert [(m.at_min, m.carbs_g) for m in default_meals(1440)] == [(420, 45), (720, 70),
                                                                     (1080, 80)]
    # a run from 17:00 for 16 h: dinner at 18:00, next day's breakfast at 07:00
    assert [(m.at_min, m.carbs_g) for m in default_meals(960, 17 * 60)] == [(60, 80), (840, 45)]
    # scaled to a patient's weight, in whole grams
    assert [m.carbs_g for m in default_meals(1440, 0, 0.41)] == [18, 29, 33]


def test_settings_follow_their_stated_rules():
    """The pump is set up from the patient's own data by the rules docs/patients.md names."""
    from pumpctl.patient import therapy

    for name in ("adult#007", "adolescent#002", "child#004"):
        p = patient(name)
        s = therapy.settings_for(p)
        assert s.carb_ratio == p.carb_ratio  # Quest.csv's CR
        assert abs(s.isf * p.tdi - 1800) <= p.tdi / 2  # 1800 / TDI, whole mg/dL
        assert abs(s.basal_u_per_h - p.p["u2ss"] * p.p["BW"] / 100) < 1e-3
    # meals per kg: a child eats its weight's share of the adults' day
    child, adult = patient("child#008"), patient("adult#002")
    ratio = therapy.settings_for(child).meal_scale / therapy.settings_for(adult).meal_scale
    assert abs(ratio - child.p["BW"] / adult.p["BW"]) < 1e-9
    day = therapy.meals(child, 1440)
    assert [m.at_min for m in day] == [420, 720, 1080] and sum(m.carbs_g for m in day) < 60


def test_a_meal_is_bolused_by_the_pumps_calculator_with_the_patients_settings():
    from pumpctl.patient import therapy

    p = patient("child#001")
    s = therapy.settings_for(p)
    result = Simulation(Config(p, 40, [Meal(20, 30)], seed=2)).run()
    (proposal,) = [e for e in result.events if " wizard state=proposed " in e]
    kv = dict(f.split("=", 1) for f in proposal.split()[2:])
    bg = int(kv["bg"])
    assert bg == round(dict(result.cgm)[20])  # the latest CGM reading, sent every 5 min
    assert int(kv["carbs"]) == 30 and int(kv["food"]) == 30 * 10000 // round(s.carb_ratio * 10)
    expected_corr = (bg - 120) * 1000 // s.isf if bg > 120 else 0  # target range 100-120
    if bg < 100:
        expected_corr = (bg - 100) * 1000 // s.isf
    assert int(kv["corr"]) == expected_corr
    assert any(" bolus state=started " in e and "src=wizard" in e for e in result.events)
    assert sum(result.insulin_u[20:25]) * 1000 >= int(kv["suggested"]) - 1


def test_the_user_acknowledges_an_alarm_each_time_it_sounds():
    """A high-priority alarm (urgent low) holds insulin until acknowledged, even after its
    cause has gone: a re-armed alarm must get the user's answer too."""
    sim = Simulation(Config(patient("child#001"), 60, [], seed=2, response_min=5))
    sim._watch("600000 alarm kind=bg_urgent_low prio=high state=raised mgdl=52")
    assert sim.due[10 + 1 + 5] == [("respond", "bg_urgent_low")]
    sim._watch("660000 alarm kind=bg_urgent_low state=escalated level=1")  # no new answer
    sim._apply(16, "respond", "bg_urgent_low")
    sim._watch("1200000 alarm kind=bg_urgent_low state=rearmed")
    assert sim.due[20 + 1 + 5] == [("respond", "bg_urgent_low")]
    sim.link.close()


def test_commercial_arm_is_the_undetected_arm_for_a_disconnect():
    """The bench runs the commercial arm of a disconnect or leak as the 'none' arm (commercial
    pumps have no alarm for them): the two runs must be the same, byte for byte."""
    config = Config(patient("adolescent#003"), 120, [Meal(30, 40)], [Fault("disconnect", 60)],
                    seed=7, response_min=10)
    sim = Simulation(config)
    sim.advance(60)
    commercial = sim.fork("commercial", 100).run().to_bytes()
    assert commercial == sim.fork("none", 100).run().to_bytes()
    assert commercial != sim.fork("firmware", 100).run().to_bytes()


def test_a_meal_bolus_refused_during_an_alarm_is_asked_for_once_the_set_is_changed():
    """The pump starts no bolus while a high-priority alarm stands; the simulated user asks
    the calculator again after dealing with the alarm, as a person would."""
    first = Simulation(short_config()).run()
    (out,) = fault_outcomes(first)
    meal_at = out.alarm_min + 2  # after the alarm, before the user's response
    config = Config(patient("adolescent#003"), 180, [Meal(meal_at, 40)],
                    [Fault("occlusion", 60)], seed=7, response_min=10)
    result = Simulation(config).run()
    notes = dict(result.actions)
    assert "the pump refuses the bolus (alarm)" in notes[meal_at]
    fixed = fault_outcomes(result)[0].fixed_min
    late = [(m, n) for m, n in result.actions if "meal 40 g (eaten" in n]
    assert late and late[0][0] == fixed + 2  # new set a minute later, the alarm cleared
    assert f"eaten {fixed + 2 - meal_at} min ago" in late[0][1]
    starts = [int(e.split()[0]) // 60000 for e in result.events
              if " bolus state=started " in e and "src=wizard" in e]
    assert starts == [fixed + 2]


def test_a_bolus_a_line_alarm_stopped_is_finished_once_the_set_is_changed():
    """A set that came loose 3 min before a meal: the firmware stops the meal bolus at the
    disconnect alarm (its first pulses spill); the pump shows how much of it was given, and
    the simulated user gives the rest on the new set, as a person is taught to (without it,
    the bench's worst disconnect was a whole dinner bolus never given, not one lost)."""
    config = Config(patient("adolescent#003"), 180, [Meal(63, 40)],
                    [Fault("disconnect", 60)], seed=7, response_min=10)
    result = Simulation(config).run()
    ended = [dict(f.split("=", 1) for f in e.split()[2:]) for e in result.events
             if " bolus state=ended " in e]
    assert ended and ended[0]["reason"] == "alarm"  # the firmware caught it mid-bolus
    rest = int(ended[0]["amount"]) - int(ended[0]["delivered"])
    assert rest > 0
    fixed = fault_outcomes(result)[0].fixed_min
    assert fixed is not None
    again = [(m, n) for m, n in result.actions if "the rest of the bolus" in n]
    assert again and again[0][0] == fixed + 2  # the new set on, the alarm acknowledged, cleared
    assert f"{rest / 1000:.2f} U" in again[0][1]
    starts = [int(e.split()[0]) // 60000 for e in result.events
              if " bolus state=started " in e]
    assert starts[1:] == [fixed + 2]
    # the rest reaches the patient (what the line lets through from the new set on)
    assert sum(result.insulin_u[fixed + 2:fixed + 20]) >= rest / 1000
