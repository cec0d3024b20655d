"""REL-2: hypothesis throws garbage at every loader; each answers with its own clear error."""

import json

import pytest
from boards.emu import plant
from boards.emu.board import FlashStore
from boards.emu.scenario import Scenario, load
from emu import REPO
from hypothesis import given
from hypothesis import strategies as st
from pump import commands
from pump.journal import STATE_NAME, Corrupt, Journal
from pump.settings import SETTINGS_NAME, Settings, load_settings, save_settings
from pump.units import InputError

DEFAULT = json.loads((REPO / "scenarios" / "default.json").read_text())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def paths(value, prefix=()):
    """Every (path) into a JSON value, for picking a place to damage."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def replaced(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copy


@given(st.data(), json_values)
def test_damaged_scenario_gives_input_error_or_loads(data, garbage):
    path = data.draw(st.sampled_from(list(paths(DEFAULT))))
    raw = replaced(DEFAULT, path, garbage)
    try:
        Scenario(raw, plant.FAULTS)
    except InputError as e:
        assert e.where and e.message


@given(st.binary(max_size=300))
def test_scenario_file_of_random_bytes(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("s") / "s.json"
    path.write_bytes(blob)
    with pytest.raises(InputError):
        load(str(path), plant.FAULTS)


@given(st.text(max_size=20), json_values)
def test_command_parser_never_crashes(name, args):
    for candidate in (name, "bolus", "temp_basal", "set_profile", "ack"):
        try:
            parsed = commands.parse(candidate, args)
        except InputError as e:
            assert e.where.startswith("command")
        else:
            assert parsed[0] == candidate


@given(st.binary(max_size=120))
def test_settings_file_of_random_bytes_falls_back_to_defaults(blob):
    store = FlashStore()
    store.files[SETTINGS_NAME] = blob
    settings, problem = load_settings(store)
    assert problem in ("crc", "json", "invalid")
    assert settings.max_bolus == Settings().max_bolus


@given(st.dictionaries(st.sampled_from(["max_bolus_u", "pulse_u", "reservoir_u"]),
                       st.sampled_from([0.05, 1, 5, 25]), max_size=3),
       st.integers(0, 200), st.integers(0, 7))  # fmt: skip
def test_saved_settings_load_back_and_any_flip_is_caught(values, index, bit):
    try:
        Settings(values)
    except InputError:
        return
    store = FlashStore()
    save_settings(store, values)
    assert load_settings(store)[1] is None
    blob = bytearray(store.files[SETTINGS_NAME])
    blob[index % len(blob)] ^= 1 << bit
    store.files[SETTINGS_NAME] = bytes(blob)
    assert load_settings(store)[1] is not None


@given(st.binary(max_size=80))
def test_journal_of_random_bytes_is_refused(blob):
    store = FlashStore()
    store.files[STATE_NAME] = blob
    with pytest.raises(Corrupt):
        Journal(store).load()


def test_corrupt_settings_boot_suspended_on_defaults_with_an_alarm():
    import io

    from boards.emu.board import EmuBoard
    from emu import scenario
    from pump.app import App

    store = FlashStore()
    store.files[SETTINGS_NAME] = b'{"max_bolus_u": 5}\n0badc0de\n'
    settings, problem = load_settings(store)
    sc = Scenario(scenario(), plant.FAULTS)
    out = io.StringIO()
    app = App(EmuBoard(sc, out), settings, sc.profile, settings_problem=problem)
    app.boot()
    assert problem == "crc" and settings.max_bolus == Settings().max_bolus
    assert app.delivery.mode == "suspended" and app.alarms.blocks_delivery()
    assert "settings state=defaults reason=crc" in out.getvalue()
