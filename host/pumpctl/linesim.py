"""Closed-loop line simulation on CPython: plant + a simple pulse schedule + LineWatch.

The reference harness for the detectors: fast enough for thousands of runs
(the bench and the hypothesis properties), with the same plant and detector
code the firmware runs. The pulse schedule mirrors the firmware's (basal
spread evenly by a 1 s accumulator, boluses at the pulse period of the bolus speed setting:
``bolus_ms``, 2000 ms at the default 1.5 U/min, on the 100 ms control tick as the firmware's
Bresenham train puts them).
"""

from __future__ import annotations

from boards.emu import plantparams
from boards.emu.plant import Plant
from pump.bolus import bolus_period_ms
from pump.linetask import relief_steps
from pump.linewatch import LineWatch

SAMPLE_MS = 100
DELIVERY_MS = 1000
BOLUS_PULSE_MS = 2000  # 1.5 U/min at 0.05 U per pulse


class Schedule:
    """When the motor pulses: a basal rate in mU/h and optional boluses."""

    def __init__(self, basal_mu_h: int, pulse_mu: int, boluses=(), temp=None,
                 bolus_ms: int = BOLUS_PULSE_MS):
        self.basal_mu_h = basal_mu_h
        self.bolus_ms = bolus_ms  # ms per bolus pulse (pulse / bolus speed)
        self.temp = temp  # (start_ms, end_ms, rate mU/h) or None
        self.pulse_mu = pulse_mu
        self.acc = 0
        self.boluses = sorted(boluses)  # (start_ms, pulses)
        self.bolus_left = 0
        self.next_bolus_ms = 0
        self._first = False

    def due(self, t_ms: int) -> bool:
        """Called every SAMPLE_MS: does the motor pulse now? A bolus starts and the basal
        accrues on whole DELIVERY_MS; a bolus's later pulses fall every ``bolus_ms`` from its
        first, each on the first tick at or after its time (a period that is no whole number
        of ticks gives cycles of two lengths, as the firmware's train does)."""
        whole = t_ms % DELIVERY_MS == 0
        if whole:
            while self.boluses and self.boluses[0][0] <= t_ms:
                start, pulses = self.boluses.pop(0)
                self.bolus_left += pulses
                self.next_bolus_ms = start
                self._first = True
        if self.bolus_left and t_ms >= self.next_bolus_ms:
            self.bolus_left -= 1
            if self._first:  # the train's first pulse: its later ones count from here
                self._first = False
                self.next_bolus_ms = t_ms
            self.next_bolus_ms += self.bolus_ms
            return True
        if not whole:
            return False
        rate = self.basal_mu_h
        if self.temp is not None and self.temp[0] <= t_ms < self.temp[1]:
            rate = self.temp[2]
        self.acc += rate * DELIVERY_MS
        quantum = self.pulse_mu * 3600000
        if self.acc >= quantum:
            self.acc -= quantum
            return True
        return False


class Outcome:
    def __init__(self):
        self.pulses_ms: list[int] = []
        self.alarms: list[tuple[str, int]] = []  # (kind, t_ms) first raise of each kind
        self.samples: list[tuple[int, int]] = []  # (t_ms, counts) if recorded
        self.release_nl = 0  # unintended bolus when the occlusion cleared (OCC-2)
        self.relief_steps = 0
        self.watch: LineWatch | None = None  # the detectors at the end (what they learned)


def simulate(params: dict, seed: int, duration_ms: int, basal_mu_h: int, faults=(),
             boluses=(), stop_at_alarm=False, stop_on: str | None = None, record=False,
             after_ms: int = 0,
             relieve: bool | None = None, clear_after_ms: int = 0, temp=None,
             sen1_noisy: bool = True, bolus_ms: int = BOLUS_PULSE_MS) -> Outcome:
    """Run the plant and LineWatch; ``faults`` are (t_ms, kind, kw) for the plant.
    ``sen1_noisy`` False turns SEN-1's noisy test off (the bench's SNR sweep). ``bolus_ms``:
    the bolus (and prime) pulse period, from the bolus speed setting.

    On an occlusion alarm delivery stops; with ``relieve`` the plunger backs off as
    the firmware does (OCC-2), without it the pressure stays. ``clear_after_ms`` after
    the alarm the blockage clears and the released volume is measured."""
    plant = Plant(params, seed)
    for t_fault, kind, kw in faults:
        plant.schedule(t_fault, kind, **kw)
    pulse_mu = params["pulse_nl"] // 10
    # as the firmware trains a bolus: no faster than the plant's motor pushes a pulse
    bolus_ms = bolus_period_ms(bolus_ms, params["pulse_ms"])
    sched = Schedule(basal_mu_h, pulse_mu, boluses, temp, bolus_ms)
    watch = LineWatch(params["pulse_nl"], bolus_ms)
    out = Outcome()
    out.watch = watch
    watch.sensor.judge_noise = sen1_noisy
    seen = set()
    stopped = False
    clear_at = None
    t = 0
    while t < duration_ms:
        plant.step(SAMPLE_MS)
        t += SAMPLE_MS
        if clear_at is not None and t >= clear_at:
            plant.set_fault("clear")
            out.release_nl = plant.release_nl
            clear_at = None
        if sched.due(t) and not stopped:
            plant.pulse()
            watch.pulse(t)
            out.pulses_ms.append(t)
        counts = plant.read_counts()
        if record:
            out.samples.append((t, counts))
        watch.sample(t, counts)
        for kind, flag in (("occlusion", watch.occluded()), ("disconnect", watch.disconnected()),
                           ("leak", watch.leaking()), ("sensor", watch.sensor_fault() != 0)):
            if flag and kind not in seen and t >= after_ms:
                seen.add(kind)
                out.alarms.append((kind, t))
                if kind == "occlusion" and relieve is not None:
                    stopped = True
                    if relieve:
                        out.relief_steps = relief_steps(watch, params["steps_per_pulse"])
                        plant.retract(out.relief_steps)
                    if clear_after_ms:
                        clear_at = t + clear_after_ms
        if stop_at_alarm and out.alarms and clear_at is None and relieve is None:
            break
        if stop_on is not None and stop_on in seen:
            break
    return out


def nominal_params(seed: int | None = None) -> dict:
    return plantparams.nominal() if seed is None else plantparams.sample(seed)
