"""Line supervision: pressure samples and pulses in, line and sensor faults out.

Owns the feature extractor and the three detectors and wires them in the
right order; knows nothing about alarms or the scheduler (the app's line task
does that), so CPython tests and the bench drive it directly.
"""

from pump.bolusline import REF_MS, BolusWatch
from pump.compat import const, micropython
from pump.disconnect import DisconnectDetector
from pump.linefeat import EV_R, NOISE_SETTLED, LineFeatures
from pump.occlusion import OcclusionDetector
from pump.sensorcheck import SensorCheck
from pump.ticks import ticks_diff

NOMINAL_COMPLIANCE_NL_PER_KPA = const(300)
RAIL_MID = const(2048)  # half of pump.pressure.COUNTS_MAX (test_detect checks it)
HALF_SCALE_PA = const(100000)  # half of pump.pressure.FULL_SCALE_PA
_FULL_SCALE_PA = const(200000)  # pump.pressure.FULL_SCALE_PA (viper code: a const here)
_COUNTS_MAX = const(4095)  # pump.pressure.COUNTS_MAX
# the other modules' consts ``sample`` uses (a viper function needs its ints as consts here;
# tests/test_detect.py checks they are the same)
_NOISE_DIV = const(125)  # pump.linefeat.NOISE_DIV
_EV_R = const(2)  # pump.linefeat.EV_R
_EV_L = const(4)  # pump.linefeat.EV_L
_EV_C = const(8)  # pump.linefeat.EV_C
_EV_T = const(16)  # pump.linefeat.EV_T
_OK = const(0)  # pump.sensorcheck.OK
_OUT_OF_RANGE = const(1)  # pump.sensorcheck.OUT_OF_RANGE


class LineWatch:
    def __init__(self, pulse_nl, bolus_ms=REF_MS):
        """``pulse_nl``: one pulse's volume; ``bolus_ms``: the bolus pulse period (the pulse
        over the bolus speed setting), what the bolus test judges a run's cycles at."""
        self.feat = LineFeatures()
        self.occ = OcclusionDetector()
        self.dis = DisconnectDetector(pulse_nl * 1000 // NOMINAL_COMPLIANCE_NL_PER_KPA)
        self.sensor = SensorCheck()
        self.bolus = BolusWatch(bolus_ms)
        self.sites = 0  # set changes seen (kept with what was learned)

    def rearm(self):
        """Re-arm the line detectors but keep what was learned about this site."""
        self.occ.reset()
        self.occ.learn_tau(self.dis.tau_ms())
        self.dis.open_streak = 0
        self.dis.leak_streak = 0
        self.dis.disconnected = False
        self.dis.leaking = False
        self.bolus.reset()

    def new_site(self):
        """A new set (or a prime): what was learned about the old site no longer holds. The
        sensor's noise is the pump's, not the site's: it is kept."""
        self.rearm()
        self.dis.reset()
        self.bolus.forget()
        self.occ.learn_tau(0)
        self.sites += 1

    def learned(self):
        """What the detectors learned, as the ints of pump.linecal.FIELDS."""
        feat = self.feat
        dis = self.dis
        bolus = self.bolus
        return (self.sites, dis.jref, dis.learned, dis.updates, dis.lref16, dis.ldev16,
                feat.noise64, feat.rise16, bolus.runs, bolus.a, bolus.b12, bolus.spread,
                bolus.e_top)

    def restore(self, values):
        """Take back what ``learned`` returned before a reboot."""
        feat = self.feat
        dis = self.dis
        self.sites, dis.jref, dis.learned, dis.updates = values[:4]
        dis.lref16, dis.ldev16, feat.noise64, feat.rise16 = values[4:8]
        bolus = self.bolus
        bolus.runs, bolus.a, bolus.b12, bolus.spread, bolus.e_top = values[8:]
        feat.quiet_n = NOISE_SETTLED  # the noise figure is a measured one
        self.occ.learn_tau(dis.tau_ms())

    @micropython.viper
    def sample(self, now: int, counts: int) -> bool:
        """One raw reading (ADC counts) to the sensor check, the features and the detectors.
        Returns True when the line task must look at their state: a sensor fault stands or
        has just ended, a pulse's features came ready (the detectors learn and judge from
        them), or an occlusion check finds the line blocked. Most samples change none of
        that and return False.

        A viper function (every control tick; its own work is a few compares, and the
        calls into viper code are cheaper from it); the same source runs as plain Python
        under CPython (tests/test_twins.py checks the two)."""
        feat = self.feat
        sensor = self.sensor
        was = int(sensor.fault)
        # feat.noise_pa(), inlined (a call costs more than the division on MicroPython)
        fault = int(sensor.sample(counts, int(feat.noise64) // _NOISE_DIV, self.dis.jref))
        if fault != _OK:
            if fault == _OUT_OF_RANGE and counts > RAIL_MID and feat.climbed(HALF_SCALE_PA):
                # the line's own pressure went past the sensor's range, climbing pulse by
                # pulse (10 s before it was already past half the range): a blocked line, not
                # a sensor fault (a flowing line stays far below even in a bolus; a failing
                # sensor jumps to its rail)
                self.occ.occluded = True
                sensor.fault = _OK
            return True
        # counts_to_pa(counts), inlined (pump.pressure; counts * FULL_SCALE_PA < 2**30)
        pa = (counts * _FULL_SCALE_PA + _COUNTS_MAX // 2) // _COUNTS_MAX
        events = int(feat.sample(now, pa))
        look = was != _OK or (events & (_EV_R | _EV_L)) != 0
        if events & _EV_C:  # the last sample of a cycle of a run: judge it before the next pulse
            if self._cycle(feat):
                look = True
        if events & _EV_R:
            self._on_r(feat)
        if events & _EV_L:
            dis = self.dis
            dis.on_l(feat)
            self.occ.learn_tau(dis.tau_ms())
        if events & _EV_T:  # every fifth sample: the window scan twice a second is plenty
            if self.occ.check(feat):
                look = True
        return look

    def _on_r(self, feat):
        """A pulse's bump and retention are ready (``r``): to the disconnect detector."""
        dis = self.dis
        short = dis.jref - feat.r  # what this pulse left short of a bump
        if feat.off > 0 and feat.r_n >= 10 and 2 * short > dis.jref and 2 * short > feat.off:
            # short of a bump by about the movement offset that stands: not the line
            # letting the pulse out but that step ending inside the push
            feat.step_ended()
        dis.on_r(feat)

    def _cycle(self, feat):
        bolus = self.bolus
        bolus.on_cycle(feat)
        if bolus.occluded:
            self.occ.occluded = True
        if bolus.leaking:
            self.dis.leaking = True
        return bolus.occluded or bolus.leaking  # the line task must look at what it raised

    def pulse(self, now):
        feat = self.feat
        if feat.close() & EV_R:  # the last pulse's features the next one cuts short
            self.dis.on_r(feat)
        self.occ.on_pulse(feat)
        feat.offset_gone()  # after the interval closed, before the next one and a run start
        if feat.pulses:
            dis = self.dis
            blocked = self.occ.occluded or dis.disconnected or dis.leaking
            self.bolus.on_pulse(feat, ticks_diff(now, feat.t_pulse), dis.jref, blocked)
        elif feat.samples:
            # the first pulse since boot (a prime, often): the bolus test's run starts from
            # the resting baseline the samples measured, not from 0 Pa (the preload offset
            # would read as excess and bend what the site is learned at)
            self.bolus.on_pulse(feat, 0, self.dis.jref, False)
        feat.pulse(now)

    def occluded(self):
        return self.occ.occluded

    def disconnected(self):
        return self.dis.disconnected

    def leaking(self):
        return self.dis.leaking

    def sensor_fault(self):
        return self.sensor.fault
