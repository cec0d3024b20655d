"""The simulated infusion line: plunger, line compliance, site resistance, pressure sensor.

A first-order hydraulic model (docs/detection.md has the equations and units):
the line holds V = C * P over the site's back-pressure; each motor pulse adds
``pulse_nl`` (at once, or spread over ``pulse_ms``) and the excess pressure
decays as exp(-t/tau) with tau = R * C. The compliance C falls as the pressure
rises (``stiffen_pct``), and part of what leaves the cannula raises the tissue
back-pressure for minutes (the depot: a slow second component under the bump):

- set in place: tau = site_tau_ms (tens of seconds), wandering slowly;
- full occlusion: no outflow, each pulse adds pulse_nl / C and stays;
- partial occlusion (kink): R multiplied by ``factor``, slower decay;
- leak of p% of the flow at the set: a parallel path, tau * (100 - p) / 100;
- disconnect: the tissue is gone, only the tubing resists: tau = tubing_tau_ms.

The sensor is a force sensor read by a 12-bit ADC: gain error, preload offset,
drift, a slow random walk, movement steps, noise, plunger friction while the
motor moves, occasional spikes, and the faults stuck / out of range / noisy.
All state is integer (pressure in mPa, volume in nL) so CPython and the MicroPython
Unix port give the same bytes.
"""

import sys

from pump.compat import micropython
from pump.pressure import COUNTS_MAX, FULL_SCALE_PA, pa_to_counts

from boards.emu.intmath import _GAUSS_HALF, Q30, XorShift32, exp_neg_q30, triangle
from boards.emu.plantparams import WALK_LIMIT_PA, check

FRICTION_TAU_MS = 100
E_MIN_MPA = -50000000  # the line cannot be pulled below -50 kPa (gas comes out)
# Readings read() computes ahead in one go (0: none, every reading stepped): a speed-up for
# the 64-bit ports. On the 32-bit qemu port each reading's arithmetic past 31 bits leaves
# heap ints of garbage, and a batch's burst of it made the firmware's own allocations in
# the next ticks search the shared heap longer (make bench-mcu, the default day, the same
# firmware: worst control tick 402,659 instructions stepped, 542,450 in batches of 40; 16
# only moved the worst to another tick; a real board has no plant on its heap). So none.
BATCH = 0 if sys.platform == "qemu" else 40
BATCH_AFTER_SYNC = 4  # the batch's length after one was cut short; doubles back to BATCH

LINE_FAULTS = ("occlusion", "kink", "leak", "disconnect", "clear", "reconnect")
SENSOR_FAULTS = ("stuck", "out_of_range", "noisy", "sensor_ok")
FAULTS = LINE_FAULTS + SENSOR_FAULTS  # what scenarios may inject


# fault -> ((argument, low, high or a tuple of allowed words), ...)
FAULT_ARGS = {
    "kink": (("factor", 2, 1000),),
    "leak": (("pct", 1, 99),),
    "disconnect": (("where", ("site", "connector")),),
    "out_of_range": (("level", ("high", "low")),),
    "noisy": (("factor", 2, 1000),),
}


def check_fault_args(kind, args):
    """None if ``args`` suit fault ``kind``, else (argument, what is wrong)."""
    spec = FAULT_ARGS.get(kind, ())
    names = [item[0] for item in spec]
    for key in sorted(args):  # sorted: the same error on every interpreter
        if key not in names:
            return (str(key), "unknown argument for a %s fault" % kind)
    for item in spec:
        if item[0] not in args:
            continue
        value = args[item[0]]
        if len(item) == 2:
            if value not in item[1]:
                return (item[0], "expected one of %s, got %r" % (", ".join(item[1]), value))
        elif type(value) is not int or not item[1] <= value <= item[2]:
            return (item[0], "expected an integer in %d..%d, got %r" % (item[1], item[2], value))
    return None


@micropython.native
def _xorshift(x):
    """The PRNG's next state from ``x`` (XorShift32.next on a state held in a local)."""
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    return x ^ ((x << 5) & 0xFFFFFFFF)


class Plant:
    """The line and sensor. ``step`` advances physics; the motor calls ``pulse``/``retract``."""

    def __init__(self, params, seed=1, batch=BATCH):
        check(params)
        self.p = params
        self.rng = XorShift32(seed)
        self.t_ms = 0
        self.excess_mpa = 0  # line pressure above the tissue's back-pressure
        self.depot_mpa = 0  # back-pressure the depot adds at the cannula tip
        self._push_left = 0  # nL of the pulse the motor is still pushing
        self.walk_mpa = 0  # the sensor zero's random walk
        self._walk_s = 0  # plant second the walk was last advanced to
        self.step_pa = 0  # a movement step standing now (Pa), 0 when none
        self._step_end = 0
        self.friction_mpa = 0
        self.line = "ok"  # ok occlusion kink leak disconnect
        self.kink_factor = 8
        self.leak_pct = 50
        self.connector_open = False  # the quick release is open (switch reads open)
        self.sensor = "ok"  # ok stuck out_of_range noisy
        self.stuck_counts = 0
        self.range_counts = COUNTS_MAX
        self.noise_factor = 20
        self.spike_pending = 0
        self.last_counts = 0
        self.pending = []  # scheduled faults: [t_ms, kind, kw], sorted by time
        self.label = ""  # ground truth of the line and sensor now, for traces
        self._label_events = []  # (t_ms, label) onsets, drained by the trace writer
        self._decay_cache = {}
        self._tau_key = -1  # cache of the line's tau: minute of plant time it was computed for
        self._tau = 0
        self._slow_key = -1  # cache of the slow pressure terms: second they hold for
        self._slow_pa = 0
        # the parameters a step reads, as attributes (a dict lookup by name costs more), and the
        # decay factor of the last (dt, tau) of each kind: steps mostly repeat the last one's
        self._c_milli = params["compliance_nl_per_kpa"] * 1000
        self._stiffen = params["stiffen_pct"]
        self._depot_pct = params["depot_pct"]
        self._depot_tau_ms = params["depot_tau_s"] * 1000
        self._spike_rate = params["spikes_per_day"]
        self._spike_pa = params["spike_pa"]
        self._walk_pa = params["walk_pa"]
        self._steps_per_day = params["steps_per_day"]
        self._noise_pa = params["noise_pa"]
        self._gain = params["gain_permille"]
        self._line_key = -1  # dt * 10**8 + tau of _line_a
        self._line_a = 0
        self._depot_dt = -1
        self._depot_a = 0
        self._friction_dt = -1
        self._friction_a = 0
        # volumes in nL x 1e6 (mPa * nL/kPa): exact integer accounting
        self._delivered = 0
        self._spilled = 0
        self._stored = 0
        self.pushed_nl = 0
        self.pulses = 0
        self.release_nl = 0  # stored volume set free by the last clear (unintended bolus)
        # readings served by read() from a batch computed ahead (_fill): the batch's length
        # now and at most, the step it was computed for, its size, how many are unread, the
        # state it started from (restored by sync()), and the noise's table for one sigma
        self._batch_max = batch
        self._size = batch
        self._buf = [0] * batch
        self._dt = 0
        self._n = 0
        self._left = 0
        self._snap = [0] * 14
        self._noise_sigma = -1
        self._noise_tab = None

    # --- motor side -----------------------------------------------------------
    def pulse(self):
        """The motor starts one pulse into the line (all of it at once when pulse_ms is 0)."""
        if self._left:
            self.sync()
        self.pulses += 1
        self.pushed_nl += self.p["pulse_nl"]
        if self.p["pulse_ms"]:
            self._push_left += self.p["pulse_nl"]
        else:
            self._add_volume(self.p["pulse_nl"])
        self.friction_mpa = self.p["friction_pa"] * 1000

    def retract(self, steps):
        """The plunger backed off ``steps`` motor steps (draws volume back into the reservoir)."""
        if self._left:
            self.sync()
        nl = steps * self.p["pulse_nl"] // self.p["steps_per_pulse"]
        self.pushed_nl -= nl
        self._add_volume(-nl)
        self.friction_mpa = -self.p["friction_pa"] * 1000

    def compliance_milli(self):
        """Line compliance now, in nL/kPa x 1000: it falls as the pressure rises."""
        if self._left:
            self.sync()
        c = self._c_milli
        stiffen = self._stiffen
        if stiffen and self.excess_mpa > 0:
            c = c * 1000 // (1000 + stiffen * (self.excess_mpa // 1000000))
        return c

    def _add_volume(self, nl):
        self._stored += nl * 1000000
        self.excess_mpa += nl * 1000000000 // self.compliance_milli()
        if self.excess_mpa < E_MIN_MPA:
            self.excess_mpa = E_MIN_MPA

    # --- faults -----------------------------------------------------------------
    def schedule(self, t_ms, kind, **kw):
        """Inject fault ``kind`` when the plant time reaches ``t_ms``."""
        if self._left:
            self.sync()
        self._check_kind(kind)
        # insert after every fault at the same time: order of scheduling kept on any interpreter
        i = len(self.pending)
        while i and self.pending[i - 1][0] > t_ms:
            i -= 1
        self.pending.insert(i, [t_ms, kind, kw])

    def _check_kind(self, kind):
        if kind not in LINE_FAULTS and kind not in SENSOR_FAULTS:
            raise ValueError(
                "unknown plant fault %r (expected one of %s)"
                % (kind, ", ".join(LINE_FAULTS + SENSOR_FAULTS))
            )

    def set_fault(self, kind, args=None, **kw):
        """Apply fault ``kind`` now. Arguments (a dict ``args`` or keywords): factor (kink),
        pct (leak), where (disconnect: "site" or "connector"), level (out_of_range: "high" or
        "low"), factor (noisy)."""
        if self._left:
            self.sync()
        self._check_kind(kind)
        self._tau_key = -1
        self._slow_key = -1
        if args:
            for key in args:
                kw[key] = args[key]
        if kind in ("clear", "reconnect"):
            if self.line in ("occlusion", "kink") and self.excess_mpa > 0 and self._stored > 0:
                # the volume held in the line flows out at once: the unintended bolus
                self.release_nl = self._stored // 1000000
            self.line = "ok"
            self.connector_open = False
            label = "clear"
        elif kind == "occlusion":
            self.line = "occlusion"
            label = kind
        elif kind == "kink":
            self.line = "kink"
            self.kink_factor = kw.get("factor", 8)
            label = kind
        elif kind == "leak":
            self.line = "leak"
            self.leak_pct = kw.get("pct", 50)
            label = kind
        elif kind == "disconnect":
            self.line = "disconnect"
            self.connector_open = kw.get("where", "site") == "connector"
            label = kind
        elif kind == "stuck":
            self.sensor = "stuck"
            self.stuck_counts = self.last_counts
            label = "sensor"
        elif kind == "out_of_range":
            self.sensor = "out_of_range"
            self.range_counts = 0 if kw.get("level", "high") == "low" else COUNTS_MAX
            label = "sensor"
        elif kind == "noisy":
            self.sensor = "noisy"
            self.noise_factor = kw.get("factor", 20)
            label = "sensor"
        else:  # sensor_ok
            self.sensor = "ok"
            label = "sensor_ok"
        self._label_events.append((self.t_ms, label))

    def take_labels(self):
        """Label onsets since the last call, as (t_ms, label), oldest first. (No sync: a label
        is only made by a fault, and a batch never reaches one.)"""
        events = self._label_events
        self._label_events = []
        return events

    # --- physics ----------------------------------------------------------------
    def _tau_at(self, minute):
        """The line's time constant in plant minute ``minute``, or 0 when nothing flows out
        (full occlusion)."""
        line = self.line
        if line == "occlusion":
            return 0
        if line == "disconnect":
            return self.p["tubing_tau_ms"]
        wander = triangle(minute, self.p["site_wander_period_s"] // 60, self.p["site_wander_pct"])
        tau = self.p["site_tau_ms"] * (100 + wander) // 100
        if line == "kink":
            return tau * self.kink_factor
        if line == "leak":
            return tau * (100 - self.leak_pct) // 100
        return tau

    def _decay_q30(self, dt_ms, tau_ms):
        key = dt_ms * 100000000 + tau_ms
        a = self._decay_cache.get(key)
        if a is None:
            if len(self._decay_cache) > 256:
                self._decay_cache = {}
            a = exp_neg_q30(dt_ms * Q30 // tau_ms)
            self._decay_cache[key] = a
        return a

    @micropython.native
    def step(self, dt_ms):
        """Advance the plant by ``dt_ms`` (applying scheduled faults that fall due)."""
        if self._left:
            self.sync()
        if dt_ms <= 0:
            return
        end = self.t_ms + dt_ms
        pending = self.pending
        if pending and pending[0][0] <= end:
            self._apply_due(end)
        if end > self.t_ms:
            self._advance(end - self.t_ms)
        rng = self.rng
        rate = self._spike_rate
        if rate:
            x = rng.state  # rng.below(86400000), inlined (xorshift32: XorShift32.next)
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            rng.state = x
            if x % 86400000 < rate * dt_ms:
                amp = rng.between(self._spike_pa // 2, self._spike_pa)
                self.spike_pending = amp if rng.below(2) else -amp
        # the walk moves once a second and a movement step is drawn for while none stands:
        # their conditions are checked here, the work is done in the helpers (a call costs
        # more than the check; most ticks have nothing for them to do)
        if self._walk_pa and self._walk_s < self.t_ms // 1000:
            self._walk()
        per_day = self._steps_per_day
        if per_day:
            if self.step_pa:
                if self.t_ms >= self._step_end:
                    self.step_pa = 0
            else:
                x = rng.state  # rng.below(86400000), inlined as above
                x ^= (x << 13) & 0xFFFFFFFF
                x ^= x >> 17
                x ^= (x << 5) & 0xFFFFFFFF
                rng.state = x
                if x % 86400000 < per_day * dt_ms:
                    self._step_starts()

    def _apply_due(self, end):
        """Advance to each scheduled fault due by ``end`` and apply it."""
        while self.pending and self.pending[0][0] <= end:
            t_fault, kind, kw = self.pending.pop(0)
            if t_fault > self.t_ms:
                self._advance(t_fault - self.t_ms)
            self.set_fault(kind, **kw)

    def _walk(self):
        """The sensor zero's slow random walk: a Gaussian step each second, pulled back
        towards 0 over ~17 min and held within WALK_LIMIT_PA."""
        now_s = self.t_ms // 1000
        limit = WALK_LIMIT_PA * 1000
        while self._walk_s < now_s:
            self._walk_s += 1
            w = self.walk_mpa
            w += self.rng.gauss(self.p["walk_pa"] * 1000) - (w >> 10)
            self.walk_mpa = limit if w > limit else (-limit if w < -limit else w)

    def _step_starts(self):
        """Movement and posture: a pressure step on pump and site that moves the whole
        reading (baseline and bump alike) for step_ms, steps_per_day on average (``step``
        draws when one starts)."""
        p = self.p
        self.step_pa = self.rng.between(p["step_pa"] // 2, p["step_pa"])
        self._step_end = self.t_ms + self.rng.between(p["step_ms"] // 2, p["step_ms"])

    def _push(self, dt_ms):
        """The motor is still pushing: pulse_nl over pulse_ms."""
        p = self.p
        nl = p["pulse_nl"] * dt_ms // p["pulse_ms"]
        nl = self._push_left if nl > self._push_left or nl <= 0 else nl
        self._push_left -= nl
        self._add_volume(nl)
        self.friction_mpa = p["friction_pa"] * 1000

    @micropython.native
    def _advance(self, dt_ms):
        t = self.t_ms + dt_ms
        self.t_ms = t
        if self._push_left:
            self._push(dt_ms)
        excess = self.excess_mpa
        drive = excess  # what pushes insulin out: line over tissue + depot
        if self.depot_mpa and self.line != "disconnect":
            drive -= self.depot_mpa
        if drive:  # a line at rest does not move: no tau, no decay
            minute = t // 60000
            if minute != self._tau_key:
                self._tau_key = minute
                self._tau = self._tau_at(minute)
            tau = self._tau
            if tau:
                c = self._c_milli  # compliance_milli(), inlined
                stiffen = self._stiffen
                if stiffen and excess > 0:
                    c = c * 1000 // (1000 + stiffen * (excess // 1000000))
                    # tau = R * C: a stiffer line empties faster (quantised to 1/32 so the
                    # decay cache stays small)
                    c32 = 32 * c // self._c_milli
                    tau = tau * (c32 if c32 > 0 else 1) // 32
                key = dt_ms * 100000000 + tau
                if key == self._line_key:
                    a = self._line_a
                else:
                    a = self._line_a = self._decay_q30(dt_ms, tau)
                    self._line_key = key
                fall = drive - (drive * a >> 30)
                outflow = fall * c // 1000
                self.excess_mpa = excess - fall
                self._stored -= outflow
                line = self.line
                if line == "disconnect":
                    self._spilled += outflow
                elif line == "leak":
                    lost = outflow * self.leak_pct // 100
                    self._spilled += lost
                    self._delivered += outflow - lost
                    self._fill_depot(outflow - lost)
                else:
                    self._delivered += outflow
                    if self._depot_pct:
                        self._fill_depot(outflow)
        depot = self.depot_mpa
        if depot:
            if dt_ms != self._depot_dt:
                self._depot_dt = dt_ms
                self._depot_a = self._decay_q30(dt_ms, self._depot_tau_ms)
            self.depot_mpa = depot * self._depot_a >> 30
        friction = self.friction_mpa
        if friction:
            if dt_ms != self._friction_dt:
                self._friction_dt = dt_ms
                self._friction_a = self._decay_q30(dt_ms, FRICTION_TAU_MS)
            self.friction_mpa = friction * self._friction_a >> 30

    def _fill_depot(self, outflow):
        """Part of what reached the tissue raises its back-pressure (mPa = volume / C)."""
        pct = self._depot_pct
        if pct and outflow > 0:
            self.depot_mpa += outflow * pct // (100 * self.p["compliance_nl_per_kpa"])

    # --- sensor -------------------------------------------------------------------
    def _slow_terms(self, t_s):
        """Offset, drift and tissue back-pressure, which change by the second at most."""
        self._slow_key = t_s
        p = self.p
        pa = p["offset_pa"] + triangle(t_s, p["drift_period_s"], p["drift_pa"])
        if self.line != "disconnect":
            pa += p["tissue_pa"] + triangle(t_s, p["tissue_wander_period_s"], p["tissue_wander_pa"])
        self._slow_pa = pa

    @micropython.native
    def line_pa(self):
        """True absolute pressure the force sensor sees (no noise), in Pa."""
        if self._left:
            self.sync()
        t_s = self.t_ms // 1000
        if t_s != self._slow_key:
            self._slow_terms(t_s)
        pa = self._slow_pa + (self.excess_mpa + self.friction_mpa + self.walk_mpa) // 1000
        pa += self.step_pa
        gain = self._gain
        return pa + pa * gain // 1000 if gain else pa

    @micropython.native
    def read_counts(self):
        """One 12-bit ADC reading of the pressure sensor."""
        if self._left:
            self.sync()
        sensor = self.sensor
        sigma = self._noise_pa
        if sensor != "ok":
            if sensor == "stuck":
                return self.stuck_counts
            if sensor == "out_of_range":
                return self.range_counts
            sigma *= self.noise_factor  # noisy
        # line_pa() and rng.gauss(sigma), inlined: the sensor is read every control tick
        t_s = self.t_ms // 1000
        if t_s != self._slow_key:
            self._slow_terms(t_s)
        pa = self._slow_pa + (self.excess_mpa + self.friction_mpa + self.walk_mpa) // 1000
        pa += self.step_pa
        gain = self._gain
        if gain:
            pa += pa * gain // 1000
        rng = self.rng
        x = rng.state  # rng.gauss(sigma), inlined (xorshift32: XorShift32.next)
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        rng.state = x
        v = _GAUSS_HALF[x & 127]
        pa += (-v if x & 128 else v) * sigma // 1000 + self.spike_pending
        self.spike_pending = 0
        counts = pa_to_counts(pa)
        self.last_counts = counts
        return counts

    # --- the sensor read ahead ---------------------------------------------------------
    # Between the motor's moves and the faults, the line and the sensor evolve on their own:
    # nothing the firmware does changes the next readings. read() computes a batch of them
    # at once in one loop over locals (_fill) instead of a call chain per reading. The state
    # attributes then hold the batch's end; everything that reads or changes the state
    # calls sync() first, which puts back the state the batch started from and computes it
    # again to the readings read so far, so the state (the PRNG's included) is what stepping
    # reading by reading gives at that instant (tests/test_plant_batch.py).
    @micropython.native
    def read(self, dt_ms):
        """Advance by ``dt_ms`` and read the sensor: ``step(dt_ms)`` then ``read_counts()``,
        served from a batch computed ahead while the step stays the same."""
        left = self._left
        if left:
            if dt_ms == self._dt:
                self._left = left - 1
                return self._buf[self._n - left]
            self.sync()
        n = self._size
        if n < self._batch_max:
            self._size = n + n if n + n < self._batch_max else self._batch_max
        if dt_ms > 0 and n > 1 and not self._push_left:
            pending = self.pending
            if pending:  # the batch ends before the next scheduled fault
                due = (pending[0][0] - self.t_ms - 1) // dt_ms
                if due < n:
                    n = due
            if n > 1:
                self._fill(dt_ms, n)
                self._left = n - 1
                return self._buf[0]
        self.step(dt_ms)
        return self.read_counts()

    def sync(self):
        """Drop the unread rest of the batch: the state goes back to the batch's start and
        is computed again up to the last reading served."""
        left = self._left
        if not left:
            return
        self._left = 0
        self._size = BATCH_AFTER_SYNC if BATCH_AFTER_SYNC < self._batch_max else self._batch_max
        snap = self._snap
        self.t_ms = snap[0]
        self.excess_mpa = snap[1]
        self.depot_mpa = snap[2]
        self.walk_mpa = snap[3]
        self._walk_s = snap[4]
        self.step_pa = snap[5]
        self._step_end = snap[6]
        self.friction_mpa = snap[7]
        self.spike_pending = snap[8]
        self.last_counts = snap[9]
        self.rng.state = snap[10]
        self._stored = snap[11]
        self._delivered = snap[12]
        self._spilled = snap[13]
        if self._n > left:  # the readings served, again: the same loop gives the same ints
            self._fill(self._dt, self._n - left)

    def _noise_table(self, sigma):
        """rng.gauss(sigma) by the draw's low byte (the only bits it uses): the same ints."""
        tab = []
        for i in range(256):
            v = _GAUSS_HALF[i & 127]
            tab.append((-v if i & 128 else v) * sigma // 1000)
        self._noise_sigma = sigma
        self._noise_tab = tab
        return tab

    @micropython.viper
    def _fill(self, dt: int, n: int):
        """Compute the next ``n`` readings of ``dt`` ms each into self._buf: step() and
        read_counts() folded into one loop over locals (no fault falls due, the motor is not
        pushing), the start kept in self._snap and the end written back.

        A viper function: the arithmetic on machine words instead of int objects (each an
        interpreter call in native code). The same source is plain Python under CPython,
        where tests/test_plant_batch.py runs it against stepping, as on the Unix port. Its
        products stay under 2**62 (a Q30 decay times an excess under 2**28 mPa), and the
        PRNG's 32-bit state needs a 64-bit word: never run on a 32-bit port (BATCH is 0
        there; it still compiles: the 32-bit mask is computed, not a literal past the small
        ints)."""
        one = int(1)
        m32 = (one << 32) - 1
        t = int(self.t_ms)
        excess = int(self.excess_mpa)
        depot = int(self.depot_mpa)
        walk = int(self.walk_mpa)
        walk_s = int(self._walk_s)
        step_pa = int(self.step_pa)
        step_end = int(self._step_end)
        friction = int(self.friction_mpa)
        spike = int(self.spike_pending)
        last = int(self.last_counts)
        rng = self.rng
        x = int(rng.state)
        stored = int(self._stored)
        delivered = int(self._delivered)
        spilled = int(self._spilled)
        snap = self._snap
        snap[0] = t
        snap[1] = excess
        snap[2] = depot
        snap[3] = walk
        snap[4] = walk_s
        snap[5] = step_pa
        snap[6] = step_end
        snap[7] = friction
        snap[8] = spike
        snap[9] = last
        snap[10] = x
        snap[11] = stored
        snap[12] = delivered
        snap[13] = spilled
        p = self.p
        line = self.line
        disconnect = 1 if line == "disconnect" else 0
        leak = 1 if line == "leak" else 0
        leak_pct = int(self.leak_pct)
        c_milli = int(self._c_milli)
        stiffen = int(self._stiffen)
        depot_pct = int(self._depot_pct)
        depot_div = 100 * int(p["compliance_nl_per_kpa"])
        tau_key = int(self._tau_key)
        tau_now = int(self._tau)
        line_key = int(self._line_key)
        line_a = int(self._line_a)
        depot_dt = int(self._depot_dt)
        depot_a = int(self._depot_a)
        friction_dt = int(self._friction_dt)
        friction_a = int(self._friction_a)
        spike_at = int(self._spike_rate) * dt
        spike_hi = int(self._spike_pa)
        spike_lo = spike_hi // 2
        walk_sigma = int(p["walk_pa"]) * 1000
        walk_limit = int(WALK_LIMIT_PA) * 1000
        steps_at = int(self._steps_per_day) * dt
        move_hi = int(p["step_pa"])
        move_lo = move_hi // 2
        move_ms_hi = int(p["step_ms"])
        move_ms_lo = move_ms_hi // 2
        gain = int(self._gain)
        full_scale = int(FULL_SCALE_PA)
        counts_max = int(COUNTS_MAX)
        sensor = self.sensor
        fixed = -1  # the reading of a stuck or out-of-range sensor (no draw)
        if sensor == "stuck":
            fixed = int(self.stuck_counts)
        elif sensor == "out_of_range":
            fixed = int(self.range_counts)
        sigma = int(self._noise_pa)
        if sensor == "noisy":
            sigma *= int(self.noise_factor)
        tab = self._noise_tab if sigma == int(self._noise_sigma) else self._noise_table(sigma)
        slow_key = int(self._slow_key)
        slow_pa = int(self._slow_pa)
        buf = self._buf
        for j in range(n):
            t += dt
            # _advance(dt)
            drive = excess
            if depot != 0 and disconnect == 0:
                drive -= depot
            if drive:
                minute = t // 60000
                if minute != tau_key:
                    tau_key = minute
                    tau_now = int(self._tau_at(minute))
                tau = tau_now
                if tau:
                    c = c_milli
                    if stiffen != 0 and excess > 0:
                        c = c * 1000 // (1000 + stiffen * (excess // 1000000))
                        c32 = 32 * c // c_milli
                        tau = tau * (c32 if c32 > 0 else 1) // 32
                    key = dt * 100000000 + tau
                    if key != line_key:
                        line_a = int(self._decay_q30(dt, tau))
                        line_key = key
                    fall = drive - (drive * line_a >> 30)
                    outflow = fall * c // 1000
                    excess -= fall
                    stored -= outflow
                    if disconnect != 0:
                        spilled += outflow
                    else:
                        if leak != 0:
                            lost = outflow * leak_pct // 100
                            spilled += lost
                            outflow -= lost
                        delivered += outflow
                        if depot_pct != 0 and outflow > 0:
                            depot += outflow * depot_pct // depot_div
            if depot:
                if dt != depot_dt:
                    depot_dt = dt
                    depot_a = int(self._decay_q30(dt, self._depot_tau_ms))
                depot = depot * depot_a >> 30
            if friction:
                if dt != friction_dt:
                    friction_dt = dt
                    friction_a = int(self._decay_q30(dt, FRICTION_TAU_MS))
                friction = friction * friction_a >> 30
            # the rest of step(dt): a spike, the walk, a movement step
            if spike_at:
                x ^= (x << 13) & m32
                x ^= x >> 17
                x ^= (x << 5) & m32
                if x % 86400000 < spike_at:
                    x = int(_xorshift(x))  # rng.between(), rng.below(2): rare, not inlined
                    amp = spike_lo + x % (spike_hi - spike_lo + 1)
                    x = int(_xorshift(x))
                    spike = amp if x % 2 else -amp
            if walk_sigma:
                now_s = t // 1000
                while walk_s < now_s:
                    walk_s += 1
                    x = int(_xorshift(x))  # rng.gauss(): once a second
                    v = int(_GAUSS_HALF[x & 127])
                    walk += (-v if x & 128 else v) * walk_sigma // 1000 - (walk >> 10)
                    if walk > walk_limit:
                        walk = walk_limit
                    elif walk < -walk_limit:
                        walk = -walk_limit
            if steps_at:
                if step_pa:
                    if t >= step_end:
                        step_pa = 0
                else:
                    x ^= (x << 13) & m32
                    x ^= x >> 17
                    x ^= (x << 5) & m32
                    if x % 86400000 < steps_at:
                        x = int(_xorshift(x))  # _step_starts(): rare
                        step_pa = move_lo + x % (move_hi - move_lo + 1)
                        x = int(_xorshift(x))
                        step_end = t + move_ms_lo + x % (move_ms_hi - move_ms_lo + 1)
            # read_counts()
            if fixed >= 0:
                buf[j] = fixed
                continue
            t_s = t // 1000
            if t_s != slow_key:
                self._slow_terms(t_s)
                slow_key = t_s
                slow_pa = int(self._slow_pa)
            pa = slow_pa + (excess + friction + walk) // 1000 + step_pa
            if gain:
                pa += pa * gain // 1000
            x ^= (x << 13) & m32
            x ^= x >> 17
            x ^= (x << 5) & m32
            pa += int(tab[x & 255]) + spike
            spike = 0
            # pa_to_counts(pa), written out (pump.pressure: rounded, clamped to the rails)
            if pa <= 0:
                last = 0
            elif pa >= full_scale:
                last = counts_max
            else:
                last = (pa * counts_max + (full_scale >> 1)) // full_scale
            buf[j] = last
        self.t_ms = t
        self.excess_mpa = excess
        self.depot_mpa = depot
        self.walk_mpa = walk
        self._walk_s = walk_s
        self.step_pa = step_pa
        self._step_end = step_end
        self.friction_mpa = friction
        self.spike_pending = spike
        self.last_counts = last
        rng.state = x
        self._stored = stored
        self._delivered = delivered
        self._spilled = spilled
        self._tau_key = tau_key
        self._tau = tau_now
        self._line_key = line_key
        self._line_a = line_a
        self._depot_dt = depot_dt
        self._depot_a = depot_a
        self._friction_dt = friction_dt
        self._friction_a = friction_a
        self._dt = dt
        self._n = n

    def connector_closed(self):
        """The connector switch (where fitted): open while the quick release is open."""
        return not self.connector_open

    # --- accounting ------------------------------------------------------------------
    def delivered_nl(self):
        """Volume that reached the patient."""
        if self._left:
            self.sync()
        return self._delivered // 1000000

    def spilled_nl(self):
        """Volume lost at a leak or an open line."""
        if self._left:
            self.sync()
        return self._spilled // 1000000

    def stored_nl(self):
        """Volume held in the line by its excess pressure."""
        if self._left:
            self.sync()
        return self._stored // 1000000
