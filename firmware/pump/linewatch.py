"""Line supervision: pressure samples and pulses in, line and sensor faults out.

Owns the feature extractor and the three detectors and wires them in the
right order; knows nothing about alarms or the scheduler (the app's line task
does that), so CPython tests and the bench drive it directly.
"""

from pump.compat import const
from pump.disconnect import DisconnectDetector
from pump.linefeat import EV_L, EV_R, LineFeatures
from pump.occlusion import OcclusionDetector
from pump.pressure import counts_to_pa
from pump.sensorcheck import OK, SensorCheck

NOMINAL_COMPLIANCE_NL_PER_KPA = const(300)
CHECK_EVERY = const(5)  # samples between occlusion evaluations


class LineWatch:
    def __init__(self, pulse_nl):
        self.feat = LineFeatures()
        self.occ = OcclusionDetector()
        self.dis = DisconnectDetector(pulse_nl * 1000 // NOMINAL_COMPLIANCE_NL_PER_KPA)
        self.sensor = SensorCheck()

    def rearm(self):
        """Re-arm the line detectors but keep what was learned about this site."""
        self.occ.reset()
        self.occ.learn_tau(self.dis.tau_ms())
        self.dis.open_streak = 0
        self.dis.leak_streak = 0
        self.dis.disconnected = False
        self.dis.leaking = False

    def sample(self, now, counts):
        feat = self.feat
        fault = self.sensor.sample(counts, feat.noise_pa())
        if fault != OK:
            return
        events = feat.sample(now, counts_to_pa(counts))
        if events & EV_R:
            self.dis.on_r(feat)
        if events & EV_L:
            self.dis.on_l(feat)
            self.occ.learn_tau(self.dis.tau_ms())
        if feat.phase % CHECK_EVERY == 0:  # the window scan twice a second is plenty
            self.occ.check(feat)

    def pulse(self, now):
        feat = self.feat
        self.occ.on_pulse(feat)
        if feat.pulse(now) & EV_R:
            self.dis.on_r(feat)

    def occluded(self):
        return self.occ.occluded

    def disconnected(self):
        return self.dis.disconnected

    def leaking(self):
        return self.dis.leaking

    def sensor_fault(self):
        return self.sensor.fault
