"""Scenario files (REL-2): every bad field gets an error that names it; the CLI never tracebacks."""

import json

import pytest
from boards.emu import plant
from boards.emu.scenario import Scenario, parse_time
from emu import events, run_inprocess, scenario
from pump.units import InputError
from pumpctl.cli import main
from pumpctl.firmware import REPO


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"format": "pumpscenario/9"}, "format"),
        ({"duration": "7h"}, "duration"),
        ({"bogus": 1}, "'bogus'"),
        ({"": None}, "''"),  # regression found by fuzzing: the error named nothing
        ({"settings": {"pulse_u": 0.2}}, "settings.pulse_u"),
        ({"settings": {"max_bolus_u": 0.07}}, "settings.max_bolus_u"),
        ({"settings": {"speed": 1}}, "settings.speed"),
        ({"basal_u_per_h": [[10, 1]]}, "basal_u_per_h[0][0]"),
        ({"basal_u_per_h": [[0, 1], [0, 2]]}, "basal_u_per_h[1][0]"),
        ({"basal_u_per_h": [[0, "x"]]}, "basal_u_per_h[0][1]"),
        ({"basal_u_per_h": [[m, 1] for m in range(49)]}, "basal_u_per_h"),
        ({"basal_u_per_h": [[0, 1], [60]]}, "basal_u_per_h[1]"),
        # therapy segments share the basal profile's checks (pump.units.segments)
        ({"settings": {"isf_mgdl_per_u": [[5, 50]]}}, "settings.isf_mgdl_per_u[0][0]"),
        ({"settings": {"isf_mgdl_per_u": [[0, 50], [0, 40]]}}, "settings.isf_mgdl_per_u[1][0]"),
        ({"settings": {"isf_mgdl_per_u": [[0, 4]]}}, "settings.isf_mgdl_per_u[0][1]"),
        ({"settings": {"carb_ratio_g_per_u": [[0, 10.25]]}}, "settings.carb_ratio_g_per_u[0][1]"),
        ({"settings": {"carb_ratio_g_per_u": []}}, "settings.carb_ratio_g_per_u"),
        ({"actions": [{"at": "0:61"}]}, "actions[0].at"),
        ({"actions": [{"at": "0:10", "command": "bolsu"}]}, "actions[0]"),
        (
            {"actions": [{"at": "0:10", "command": "bolus", "args": {"amount_u": -1}}]},
            "actions[0].args.amount_u",
        ),
        ({"actions": [{"at": "0:10", "fault": "gremlins"}]}, "actions[0].fault"),
        ({"actions": [{"at": "0:10", "press": [10]}]}, "actions[0].press[0]"),
        ({"actions": [{"at": "5:00", "press": 100}]}, "actions[0].at"),
    ],
)
def test_bad_field_is_named(patch, where):
    raw = scenario(**patch)
    with pytest.raises(InputError) as err:
        Scenario(raw, plant.FAULTS)
    assert err.value.where == where


def test_parse_time():
    assert parse_time("1:02:03", "x") == 3_723_000
    assert parse_time("30:00", "x") == 108_000_000
    for bad in ("1", "1:2", "1:60", "a:00", 5, None):
        with pytest.raises(InputError):
            parse_time(bad, "x")


def test_cli_reports_bad_scenario_without_traceback(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario(settings={"pulse_u": "lots"})))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "settings.pulse_u" in err and "Traceback" not in err

    path.write_text('{"format": "pumpscenario/1",\n "name": }')
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "line 2" in err

    assert main(["run", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_firmware_itself_rejects_bad_scenario_on_the_unix_port(tmp_path):
    """The same loader runs inside the firmware: exit 2 and the field on stderr, no traceback."""
    import subprocess

    from pumpctl.firmware import FIRMWARE, firmware_command

    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario(actions=[{"at": "0:10", "command": "bolus", "args": {}}])))
    proc = subprocess.run(
        firmware_command([str(path)]), capture_output=True, text=True, cwd=FIRMWARE
    )
    assert proc.returncode == 2
    assert "actions[0].args.amount_u: missing" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.json")))
def test_every_shipped_scenario_loads(path):
    """What `make run`, the benches and the docs point at must load as they ship."""
    loaded = Scenario(json.loads(path.read_text()), plant.FAULTS)
    assert loaded.duration > 0


def test_the_worst_tick_scenario_confirms_a_calculator_bolus_on_the_button_menu():
    """scenarios/worst-tick.json is the default day's worst control tick on the Cortex-M3
    cut out (the README's Benchmarks): its long press must still accept a calculator
    proposal on the pump and start the bolus, or the scenario measures nothing."""
    raw = json.loads((REPO / "scenarios" / "worst-tick.json").read_text())
    _, log = run_inprocess(raw)
    seen = [(e.kind, e.fields.get("state"), e.fields.get("src")) for e in events(log)]
    assert ("wizard", "accepted", None) in seen
    assert ("bolus", "started", "wizard") in seen
