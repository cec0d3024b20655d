"""Plant parameters: names, units, plausible ranges, and a seeded sampler.

Every parameter is an int in the unit its name ends with. ``RANGES`` lists
(name, low, high, nominal, first_low, first_high) in a fixed order (MicroPython
dicts are not ordered, so the sampler walks this tuple, never a dict). The
first pair is the widened range (issue 15: movement, slow motor pulses,
stiffening line, tissue depot, gain error, random walk, noisy sensors); the
second is the first wave's range, always inside it, so ``sample(seed,
first_wave=True)`` draws the plants the first tables were measured on (the
parameters the first wave did not have sit at their neutral value there).
docs/detection.md explains where each range comes from.
"""

from boards.emu.intmath import XorShift32

# name, low, high, nominal, first-wave low, first-wave high (the nominal plant is the first
# wave's: scenarios without a "plant" object run as before)
RANGES = (
    # line compliance: volume the tubing, reservoir and plunger seal take up per kPa
    ("compliance_nl_per_kpa", 200, 450, 300, 200, 450),
    # line + cannula + tissue time constant (R*C) with the set in place
    ("site_tau_ms", 10000, 60000, 30000, 10000, 60000),
    # slow wander of the site resistance (posture, tissue) as +-percent of tau
    ("site_wander_pct", 0, 15, 5, 0, 15),
    ("site_wander_period_s", 1800, 14400, 5400, 1800, 14400),
    # time constant with the set disconnected: tubing resistance only
    ("tubing_tau_ms", 100, 1000, 300, 100, 1000),
    # tissue back-pressure at the cannula tip, and its slow wander
    ("tissue_pa", 0, 3000, 1000, 0, 3000),
    ("tissue_wander_pa", 0, 400, 150, 0, 400),
    ("tissue_wander_period_s", 3600, 14400, 7200, 3600, 14400),
    # force-sensor preload seen as pressure, and its drift with temperature
    ("offset_pa", 0, 6000, 3000, 1500, 6000),
    ("drift_pa", 0, 2000, 800, 0, 2000),
    ("drift_period_s", 7200, 86400, 21600, 7200, 86400),
    # white noise of force sensor + ADC (1 ADC count = 48.8 Pa; a bridge amplifier and a
    # 12-bit ADC never do better than about half a count; cheap or worn sensors 10 counts)
    ("noise_pa", 25, 500, 35, 25, 80),
    # mechanical knocks: single-sample spikes
    ("spikes_per_day", 0, 24, 4, 0, 24),
    ("spike_pa", 2000, 20000, 8000, 2000, 20000),
    # plunger friction seen by the force sensor while the motor moves (decays in ~100 ms)
    ("friction_pa", 0, 600, 200, 0, 600),
    # --- issue 15: the widened model (first wave: the neutral value) ---
    # sensor gain error in 1/1000 of the reading
    ("gain_permille", -80, 80, 0, 0, 0),
    # slow random walk of the sensor zero: Pa per sqrt(s) (mean-reverting over ~17 min)
    ("walk_pa", 0, 12, 0, 0, 0),
    # movement and posture: pressure steps on pump and site, seen by the sensor as an offset
    ("steps_per_day", 0, 12, 0, 0, 0),
    ("step_pa", 1000, 5000, 2500, 1000, 5000),
    ("step_ms", 5000, 30000, 15000, 5000, 30000),
    # how long the motor takes to push one pulse (0: at once, as the first wave had it)
    ("pulse_ms", 0, 1500, 0, 0, 0),
    # the line stiffens with pressure: compliance falls by this percent per 10 kPa of excess
    ("stiffen_pct", 0, 40, 0, 0, 0),
    # subcutaneous depot: this percent of what leaves the cannula raises the tissue
    # back-pressure and drains with depot_tau_s (a slow second component under the bump)
    ("depot_pct", 0, 15, 0, 0, 0),
    ("depot_tau_s", 60, 300, 180, 60, 300),
)

MIN_RESTING_PA = 1000  # the resting reading never below this in a sampled (nominal) plant
WALK_LIMIT_PA = 1000  # the random walk is held within +-this
# a nominal (working) sensor: noise sigma at most the bump of one pulse / this. A noisier
# one is the SEN-1 fault "noisy beyond use" (docs/detection.md: where the detectors stop
# meeting their targets), which the bench injects on purpose, not a nominal pump
NOMINAL_SNR_MIN = 4

# Not sampled: set by the pump's configuration.
FIXED = (
    ("pulse_nl", 500),  # 0.05 U of U-100 insulin (1 U = 10 uL)
    ("steps_per_pulse", 10),  # motor steps per pulse, for retract()
)


def nominal():
    """The nominal parameter set (the middle of the road, no variation)."""
    params = {}
    for item in RANGES:
        params[item[0]] = item[3]
    for name, value in FIXED:
        params[name] = value
    return params


def resting_low_pa(params):
    """The lowest resting reading the slow terms allow (before gain): preload minus the
    offset drift and the random walk's bound; tissue back-pressure only adds."""
    walk = WALK_LIMIT_PA if params["walk_pa"] else 0
    return params["offset_pa"] - params["drift_pa"] - walk


def sample(seed, pulse_nl=500, first_wave=True):
    """A parameter set drawn uniformly over RANGES with a seeded integer PRNG: over the
    first wave's ranges with ``first_wave`` (the same draws for the parameters it had), over
    the widened ones without. The default stays the first wave's until the detectors meet
    their targets on the widened model (issue 15, in progress)."""
    rng = XorShift32(seed)
    params = {}
    lo_at, hi_at = (4, 5) if first_wave else (1, 2)
    for item in RANGES:
        params[item[0]] = rng.between(item[lo_at], item[hi_at])
    # the preload keeps the resting reading at least 1 kPa off the ADC's low rail, whatever the
    # drift: a sensor sitting on its rail is a sensor fault (SEN-1), not a nominal pump
    if first_wave:
        limit = params["offset_pa"] - MIN_RESTING_PA
        if params["drift_pa"] > limit:
            params["drift_pa"] = limit
    else:
        low = resting_low_pa(params)
        if low < MIN_RESTING_PA:
            params["offset_pa"] += MIN_RESTING_PA - low
        bump = pulse_nl * 1000 // params["compliance_nl_per_kpa"]
        bump += bump * params["gain_permille"] // 1000
        if params["noise_pa"] * NOMINAL_SNR_MIN > bump:
            params["noise_pa"] = bump // NOMINAL_SNR_MIN
    for name, value in FIXED:
        params[name] = value
    params["pulse_nl"] = pulse_nl
    return params


def check(params):
    """Raise ValueError naming the first missing or out-of-range parameter."""
    for item in RANGES:
        name, lo, hi = item[0], item[1], item[2]
        if name not in params:
            raise ValueError("plant parameter %s is missing" % name)
        value = params[name]
        if type(value) is not int or value < lo or value > hi:
            raise ValueError("plant parameter %s=%r is outside %d..%d" % (name, value, lo, hi))
    for name, _value in FIXED:
        value = params.get(name)
        if type(value) is not int or value <= 0:
            raise ValueError("plant parameter %s=%r must be a positive int" % (name, value))


def from_spec(raw, where="plant"):
    """Parameters from a scenario's ``plant`` object: {"sample": SEED} draws a set from
    the sampler (over the widened ranges with "widened": true), any other key overrides
    one parameter. ValueError names the key."""
    if raw is None:
        return nominal()
    if not isinstance(raw, dict):
        raise ValueError("%s: expected an object" % where)
    seed = raw.get("sample")
    widened = raw.get("widened", False)
    if widened is not True and widened is not False:
        raise ValueError("%s.widened: expected true or false" % where)
    params = nominal() if seed is None else sample(seed, first_wave=not widened)
    for key in raw:
        if key == "sample" or key == "widened":
            continue
        if key not in params:
            raise ValueError("%s.%s: unknown plant parameter" % (where, key))
        params[key] = raw[key]
    try:
        check(params)
    except ValueError as e:
        raise ValueError("%s: %s" % (where, e)) from None
    return params
