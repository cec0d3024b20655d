"""The STATUS frame the app sends (pump.hostlink): it stays under the protocol's payload limit
and, when it would not, keeps the newest pressure samples rather than dropping them all."""

from emu import Bench, scenario
from pump import protocol
from pump.hostlink import HostLink


class _Frames:
    """A link that keeps what the device writes."""

    def __init__(self):
        self.out = bytearray()

    def write(self, data):
        self.out += data

    def any(self):
        return 0


def _sent(link):
    frames = []
    for line in bytes(link.out).split(b"\n"):
        if line.strip():
            frame = protocol.decode_line(line.strip()[1:])  # without the RS
            if frame.kind == protocol.STATUS:
                frames.append(frame.body)
    return frames


class _WideStatus(HostLink):
    """A status with a long field: 50 samples no longer fit in MAX_PAYLOAD beside it."""

    pad = 0

    def status(self):
        status = super().status()
        status["build"] = "x" * self.pad
        return status


def _bench_after(ms):
    bench = Bench(scenario(duration="1:00"))
    bench.run_for(ms)
    return bench


def test_a_frame_over_the_limit_keeps_its_newest_samples():
    bench = _bench_after(6000)  # 5 s of samples waiting: the most a frame carries (50)
    link = _Frames()
    host = _WideStatus(bench.app, link)
    ring, i = bench.app.pressure, bench.app.pressure_index
    expect = [ring[j] for j in range(i - 50, i)]
    host._sample_index = i - 50
    base = len(protocol._dumps(host.status()))  # the payload, 50 samples, an empty pad
    host.pad = protocol.MAX_PAYLOAD - base + 40  # 40 bytes over with every sample
    host._sample_index = i - 50  # status() took them: offer them again
    host.send_status()
    (frame,) = _sent(link)
    samples = frame["samples"]
    assert 0 < len(samples) < 50  # cut, not emptied
    assert samples == expect[-len(samples) :]  # the newest, in order
    assert len(protocol._dumps(frame)) <= protocol.MAX_PAYLOAD


def test_a_frame_that_fits_is_sent_whole():
    bench = _bench_after(6000)
    link = _Frames()
    host = HostLink(bench.app, link)
    host._sample_index = bench.app.pressure_index - 50
    host.send_status()
    (frame,) = _sent(link)
    assert len(frame["samples"]) == 50


def test_a_frame_that_cannot_fit_is_skipped_without_an_error():
    bench = _bench_after(2000)
    link = _Frames()
    host = _WideStatus(bench.app, link)
    host.pad = protocol.MAX_PAYLOAD  # too long whatever is cut
    host.send_status()  # the control task must go on
    assert _sent(link) == []
