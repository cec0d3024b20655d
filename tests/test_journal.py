"""pump.journal (REL-1): atomic, CRC-checked state; history ring; recovery on boot."""

import pytest
from emu import events, run_inprocess, scenario
from hypothesis import given
from hypothesis import strategies as st
from pump.filestore import FileStore
from pump.journal import HISTORY_SLOTS, STATE_NAME, TMP_NAME, Corrupt, Journal, State

FIELDS = ("seq", "boots", "basal_pulses", "bolus_pulses", "reservoir", "bolus_id", "bolus_amount",
          "bolus_given", "bolus_active", "mode", "alarms", "hour", "day", "temp",
          "clock")  # fmt: skip


@st.composite
def states(draw):
    s = State()
    for name in FIELDS:
        setattr(s, name, draw(st.integers(0, 2**31 - 1)))
    s.mode = draw(st.integers(0, 2))
    s.bolus_active = draw(st.integers(0, 1))
    s.bolus_given = draw(st.integers(0, s.bolus_amount))
    s.hour = draw(st.integers(0, s.day))
    s.temp = draw(st.integers(0, 1))
    return s


@given(states())
def test_state_round_trips(s):
    back = State.unpack(s.pack())
    assert [getattr(back, f) for f in FIELDS] == [getattr(s, f) for f in FIELDS]


@given(states(), st.data())
def test_any_bit_flip_or_truncation_is_detected(s, data):
    raw = bytearray(s.pack())
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(Corrupt):
        State.unpack(bytes(raw))
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(Corrupt) as err:
        State.unpack(s.pack()[:cut])
    # cut to the length of an older record (0.1: 60 bytes, before the therapy clock: 64), the
    # CRC catches it (make fuzz)
    assert err.value.code == ("crc" if cut in (60, 64) else "size")


def test_a_record_from_firmware_0_1_reads_as_no_temp_running():
    import struct
    from binascii import crc32

    body = struct.pack("<IIIiiiiiiiiiii", 0x314A5550, 9, 2, 30, 4, 1000, 1, 0, 0, 0, 0, 0, 0, 50)
    s = State.unpack(body + struct.pack("<I", crc32(body)))
    assert (s.seq, s.basal_pulses, s.bolus_pulses, s.day, s.temp) == (9, 30, 4, 50, 0)


def test_a_record_from_before_the_therapy_clock_reads_as_clock_0():
    import struct
    from binascii import crc32

    body = struct.pack("<IIIiiiiiiiiiiii", 0x314A5550, 9, 2, 30, 4, 1000, 1, 0, 0, 0, 0, 0, 0, 50,
                       1)  # fmt: skip
    s = State.unpack(body + struct.pack("<I", crc32(body)))
    assert (s.seq, s.day, s.temp, s.clock) == (9, 50, 1, 0)


def test_a_cut_before_the_rename_keeps_the_previous_state(tmp_path):
    store = FileStore(str(tmp_path))
    j = Journal(store)
    j.state.basal_pulses = 7
    j.commit()
    # the next commit is cut while the temp file is half written: the rename never happens
    j.state.basal_pulses = 8
    (tmp_path / TMP_NAME).write_bytes(j.state.pack()[:20])
    again = Journal(store).load()
    assert again.basal_pulses == 7 and again.seq == 1
    assert (tmp_path / STATE_NAME).stat().st_size == len(State().pack())


def test_history_ring_wraps_and_skips_torn_slots(tmp_path):
    store = FileStore(str(tmp_path))
    j = Journal(store)
    for i in range(HISTORY_SLOTS + 10):
        j.note(i, "bolus", i * 50, 0)
    records = j.history()
    assert len(records) == HISTORY_SLOTS
    assert [r[1] for r in records] == list(range(10, HISTORY_SLOTS + 10))
    raw = bytearray((tmp_path / "history.jnl").read_bytes())
    raw[5 * 24 + 3] ^= 0xFF  # tear one slot
    (tmp_path / "history.jnl").write_bytes(bytes(raw))
    assert len(j.history()) == HISTORY_SLOTS - 1


def test_history_sequence_continues_after_reboot(tmp_path):
    store = FileStore(str(tmp_path))
    j = Journal(store)
    for i in range(5):
        j.note(i, "boot")
    j2 = Journal(store)
    j2.load()
    j2.note(99, "alarm")
    assert [r[0] for r in j2.history()] == [0, 1, 2, 3, 4, 5]


def test_reboot_during_a_bolus_neither_repeats_it_nor_forgets_insulin():
    raw = scenario(
        duration="3:00",
        basal_u_per_h=[[0, 1.5]],
        actions=[
            {"at": "0:30:00", "command": "bolus", "args": {"amount_u": 4}},
            {"at": "0:31:00", "fault": "reboot"},
            {"at": "1:00:00", "fault": "reboot"},
        ],
    )
    app, text = run_inprocess(raw)
    evs = events(text)
    boots = [e for e in evs if e.kind == "boot"]
    assert [b.fields["reason"] for b in boots] == ["power_on", "power_cut", "power_cut"]
    ended = [e for e in evs if e.kind == "bolus" and e.fields["state"] == "ended"]
    assert [e.fields["reason"] for e in ended] == ["power_loss"]
    assert 0 < ended[0].int("delivered") < 4000
    assert len([e for e in evs if e.kind == "bolus" and e.fields["state"] == "started"]) == 1
    # every pulse the motor made is in the journal, once: delivered == motor pulses
    d = app.delivery
    assert d.basal_given + d.bolus_given == app.board.motor.pulses * 50
    assert d.bolus_given == ended[0].int("delivered")
    restores = [e for e in evs if e.kind == "restore"]
    pulses_before = [
        sum(1 for p in evs if p.kind == "pulse" and p.t_ms <= r.t_ms) for r in restores
    ]
    assert [r.int("delivered") for r in restores] == [n * 50 for n in pulses_before]


def test_corrupt_journal_boots_suspended_with_an_alarm():
    import io

    from boards.emu import plant
    from boards.emu.board import EmuBoard
    from boards.emu.runner import ScenarioDriver, boot
    from boards.emu.scenario import Scenario

    sc = Scenario(scenario(), plant.FAULTS)
    out = io.StringIO()
    board = EmuBoard(sc, out)
    board.flash.files[STATE_NAME] = b"\x00" * 60
    app = boot(board, sc, ScenarioDriver(board, []), "power_on")
    assert app.delivery.mode == "suspended" and app.delivery.rate == 0
    assert app.alarms.find("journal").active and app.alarms.blocks_delivery()
    assert "journal state=corrupt reason=crc" in out.getvalue()


def test_standing_alarm_survives_a_reboot():
    raw = scenario(
        duration="2:00",
        settings={"reservoir_u": 0.5, "low_reservoir_u": 0},
        basal_u_per_h=[[0, 2]],
        actions=[{"at": "1:00:00", "fault": "reboot"}],
    )
    app, text = run_inprocess(raw)
    assert app.alarms.standing("reservoir_empty")
    raised = [
        e
        for e in events(text)
        if e.kind == "alarm"
        and e.fields.get("kind") == "reservoir_empty"
        and e.fields["state"] == "raised"
    ]
    assert [e.fields.get("restored") for e in raised] == [None, "1"]
    assert app.delivery.basal_given == 500 == app.board.motor.pulses * 50


def test_a_temp_basal_cut_by_a_reboot_ends_loudly():
    """Regression (make fuzz): a temp basal vanished at a reboot with no trace, so a user on
    a 0 % temp for exercise silently got the full profile back."""
    from emu import Bench

    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 1]]))
    assert b.app.delivery.set_temp(b.now, -1, 0, 3_600_000) is None
    b.run_for(600_000)
    assert b.app.journal.load().temp == 1
    b.reboot()
    assert b.events("temp")[-1].fields == {"state": "ended", "reason": "power_loss"}
    assert b.app.alarms.find("temp_lost").active
    assert b.app.delivery.rate == 1000  # the profile again; medium alarm: basal goes on
    b.app.ack(b.now, "temp_lost")
    b.reboot()  # acknowledged and no temp running: nothing to report the second time
    assert b.app.alarms.find("temp_lost") is None
    assert len(b.events("temp")) == 2


def test_a_temp_basal_that_ended_is_not_reported_after_a_reboot():
    from emu import Bench

    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 1]]))
    assert b.app.delivery.set_temp(b.now, -1, 50, 900_000) is None
    b.run_for(1_000_000)
    assert b.app.journal.load().temp == 0
    b.reboot()
    assert b.app.alarms.find("temp_lost") is None


def test_limits_survive_a_reboot():
    """Regression (review): the rolling per-hour total was lost on reboot, so a second
    max bolus went through within the hour."""
    from emu import Bench

    b = Bench(scenario(duration="10:00", settings={"max_bolus_u": 10, "max_u_per_h": 15},
                       basal_u_per_h=[[0, 0]]))  # fmt: skip
    assert b.app.delivery.request_bolus(b.now, 10_000, 0, "host") is None
    b.run_for(600_000)
    b.reboot()
    assert b.app.delivery.totals.hour == 10_000
    assert b.app.delivery.request_bolus(b.now, 10_000, 0, "host") == "over_max_per_hour"
    b.run_for(3_600_000)  # an hour after the reboot the bolus has left the window
    assert b.app.delivery.request_bolus(b.now, 10_000, 0, "host") is None


def test_a_restored_line_alarm_holds_delivery_until_acknowledged_then_lets_go():
    """Regression (review): an occlusion restored after a reboot could never clear, because
    the detector that would clear it starts afresh."""
    from emu import Bench

    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 2]]))
    b.run_for(60_000)
    b.app.raise_alarm("occlusion", b.now)
    b.reboot()
    pulses = b.board.motor.pulses
    b.run_for(600_000)
    assert b.board.motor.pulses == pulses and b.app.alarms.blocks_delivery()
    assert b.app.ack(b.now, "occlusion")
    b.run_for(600_000)
    assert b.board.motor.pulses > pulses and not b.app.alarms.blocks_delivery()


def test_a_profile_set_by_the_host_survives_a_reboot():
    """Regression (review): set_profile lived in RAM only; after a power cut the pump went
    back to the scenario's (on a real board: no) basal without a word."""
    from emu import Bench
    from pump import commands

    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 1]]))
    new = commands.parse("set_profile", {"basal_u_per_h": [[0, 0.35], [420, 1.25], [1320, 0.05]]})
    assert commands.execute(b.app, b.now, new, "host") is None
    b.run_for(60_000)
    b.reboot()
    assert b.app.delivery.profile.to_list() == [[0, 350], [420, 1250], [1320, 50]]
    assert b.app.delivery.rate == 350 and b.app.delivery.mode == "run"
    assert not b.app.alarms.records


@given(st.lists(st.tuples(st.integers(1, 1439), st.integers(0, 3000)), max_size=47))
def test_saved_profiles_load_back_exactly(segments):
    from boards.emu.board import FlashStore
    from pump.basal import BasalProfile
    from pump.settings import Settings, load_config, save_profile

    starts = sorted({s for s, _ in segments})
    profile = BasalProfile([0] + starts, [700] + [r for _, r in segments][: len(starts)])
    store = FlashStore()
    save_profile(store, profile)
    settings, back, problem = load_config(store, Settings(), BasalProfile.flat(0))
    assert problem is None and back.to_list() == profile.to_list()


@pytest.mark.parametrize(
    "blob, problem",
    [
        (b'{"basal_u_per_h": [[0, 1]]}\n00000000\n', "crc"),
        (b"garbage", "crc"),
        (None, "invalid"),  # a valid file whose rate is over max_basal (3 U/h)
    ],
)
def test_an_untrusted_profile_boots_suspended_with_no_basal_and_an_alarm(blob, problem):
    from emu import Bench
    from pump.basal import BasalProfile
    from pump.settings import PROFILE_NAME, save_profile

    b = Bench(scenario(duration="10:00", basal_u_per_h=[[0, 1]]))
    if blob is None:
        save_profile(b.board.flash, BasalProfile([0], [5000]))
    else:
        b.board.flash.files[PROFILE_NAME] = blob
    b.reboot()
    d = b.app.delivery
    assert (d.mode, d.rate, d.profile.to_list()) == ("suspended", 0, [[0, 0]])
    assert b.app.alarms.find("settings").active
    assert b.events("settings")[-1].fields == {"state": "defaults", "reason": problem}
