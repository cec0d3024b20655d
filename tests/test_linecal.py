"""Self-calibration of the line detectors (issue 15): what they learn about the site, that it
comes from the site (property tests over the widened plant ranges), and that it survives
reboots (pump/linecal.py) and is forgotten at a set change."""

from boards.emu import plantparams
from emu import Bench, scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from pump import linecal
from pump.disconnect import LEARN_PULSES
from pumpctl.linesim import simulate

HOUR = 3_600_000


def _bench(seed=21, rate=1.0):
    return Bench(
        scenario(
            duration="100:00",
            basal_u_per_h=[[0, rate]],
            plant={"sample": seed, "widened": True},
        )
    )


def _run_until_learned(b, n, limit_ms=6 * HOUR):
    """Run in 10 s steps until the decay has been learned from ``n`` pulses."""
    spent = 0
    while b.app.line.watch.dis.learned < n:
        assert spent < limit_ms, "the site was not learned in time"
        b.run_for(10_000)
        spent += 10_000


def _line_events(b, state):
    return [e for e in b.events("line") if e.fields.get("state") == state]


def test_what_was_learned_survives_a_reboot_after_calibration():
    b = _bench()
    _run_until_learned(b, LEARN_PULSES + 2)
    assert len(_line_events(b, "calibrated")) == 1
    b.run_for(40 * 180_000)  # 40 more pulses at 1 U/h: a periodic save on the way
    before = b.app.line.watch.learned()
    tau_slow = b.app.line.watch.occ.tau_slow
    b.reboot()
    after = b.app.line.watch
    # the record on flash may be a few pulses older than RAM (saved every SAVE_EVERY pulses)
    assert after.dis.learned >= LEARN_PULSES
    assert abs(after.dis.jref - before[1]) * 10 <= before[1]
    assert after.occ.tau_slow * 10 >= tau_slow * 8 and after.occ.tau_slow * 8 <= tau_slow * 10
    assert after.feat.noise64 > 0
    [restored] = _line_events(b, "restored")
    assert int(restored.fields["learned"]) == after.dis.learned
    b.run_for(HOUR)
    assert len(_line_events(b, "calibrated")) == 1  # not learned again from scratch


def test_a_reboot_mid_calibration_goes_on_from_where_it_was():
    b = _bench(seed=33)
    _run_until_learned(b, 2)
    learned = b.app.line.watch.dis.learned
    assert learned < LEARN_PULSES
    lref16 = b.app.line.watch.dis.lref16
    b.reboot()
    dis = b.app.line.watch.dis
    assert dis.learned == learned and dis.lref16 == lref16  # saved with every learning pulse
    assert b.app.line.watch.occ.tau_slow == b.app.line.watch.occ.tau_slow  # still defaults
    assert dis.tau_ms() == 0  # not yet learned: the detectors stay on their defaults
    _run_until_learned(b, LEARN_PULSES)
    assert len(_line_events(b, "calibrated")) == 1
    assert dis.tau_ms() > 0


def test_a_set_change_forgets_the_old_site_and_learns_the_new_one():
    b = _bench(seed=5)
    _run_until_learned(b, LEARN_PULSES)
    from pump import commands

    commands.execute(b.app, b.now, ("set_changed", 0, 0), "host")
    assert b.app.line.watch.dis.learned == 0 and b.app.line.watch.dis.tau_ms() == 0
    assert _line_events(b, "new_site")
    b.reboot()  # the forgetting is on flash too
    assert b.app.line.watch.dis.learned == 0
    _run_until_learned(b, LEARN_PULSES)
    assert len(_line_events(b, "calibrated")) == 2


def test_a_damaged_record_is_ignored():
    values = (1, 1500, 4, 9, 5000, 600, 9000, 16000, 2, 1900, 300, 150, 24000)
    assert len(values) == len(linecal.FIELDS)
    data = linecal.pack(values)
    assert linecal.unpack(data) == values
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        assert linecal.unpack(bytes(bad)) is None
    assert linecal.unpack(data[:-1]) is None
    assert linecal.unpack(None) is None


def test_a_record_from_before_the_bolus_range_is_ignored():
    """PCL2 (firmware before the bolus test's learned excess range): calibrate afresh rather
    than judge a leak over a range never measured."""
    import struct
    from binascii import crc32

    body = struct.pack("<IIiiiiiiiiiii", 0x324C4350, 1, 1500, 4, 9, 5000, 600, 9000, 16000, 2,
                       1900, 300, 150)
    old = body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)
    assert linecal.unpack(old) is None


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_property_the_detectors_learn_this_sites_bump_decay_and_noise(seed):
    """Drawn from the widened ranges: what is learned is this plant's own figures, not
    the nominal ones the detectors start from."""
    params = plantparams.sample(seed, first_wave=False)
    out = simulate(params, seed, 3 * HOUR, 300)  # a pulse every 10 min: every decay seen
    watch = out.watch
    gain = 1000 + params["gain_permille"]
    bump = params["pulse_nl"] * 1000 // params["compliance_nl_per_kpa"] * gain // 1000
    noise = params["noise_pa"] * gain // 1000
    assert watch.dis.learned >= LEARN_PULSES
    # the bump as the detectors see it (2 to 5 s after the pulse, part of it decayed already)
    assert bump * 5 // 10 <= watch.dis.jref <= bump * 12 // 10, (watch.dis.jref, bump)
    tau = watch.dis.tau_ms()
    assert params["site_tau_ms"] * 5 // 10 <= tau <= params["site_tau_ms"] * 2, (tau, params)
    assert noise * 7 // 10 - 25 <= watch.feat.noise_pa() <= noise * 13 // 10 + 25
