"""Plant parameters: names, units, plausible ranges, and a seeded sampler.

Every parameter is an int in the unit its name ends with. ``RANGES`` lists
(name, low, high, nominal) in a fixed order (MicroPython dicts are not ordered,
so the sampler walks this tuple, never a dict). docs/detection.md explains
where each range comes from.
"""

from boards.emu.intmath import XorShift32

# name, low, high, nominal
RANGES = (
    # line compliance: volume the tubing, reservoir and plunger seal take up per kPa
    ("compliance_nl_per_kpa", 200, 450, 300),
    # line + cannula + tissue time constant (R*C) with the set in place
    ("site_tau_ms", 10000, 60000, 30000),
    # slow wander of the site resistance (posture, tissue) as +-percent of tau
    ("site_wander_pct", 0, 15, 5),
    ("site_wander_period_s", 1800, 14400, 5400),
    # time constant with the set disconnected: tubing resistance only
    ("tubing_tau_ms", 100, 1000, 300),
    # tissue back-pressure at the cannula tip, and its slow wander
    ("tissue_pa", 0, 3000, 1000),
    ("tissue_wander_pa", 0, 400, 150),
    ("tissue_wander_period_s", 3600, 14400, 7200),
    # force-sensor preload seen as pressure, and its drift with temperature
    ("offset_pa", 1500, 6000, 3000),
    ("drift_pa", 0, 2000, 800),
    ("drift_period_s", 7200, 86400, 21600),
    # white noise of force sensor + ADC (1 ADC count = 48.8 Pa; a bridge amplifier and a
    # 12-bit ADC never do better than about half a count)
    ("noise_pa", 25, 80, 35),
    # mechanical knocks: single-sample spikes
    ("spikes_per_day", 0, 24, 4),
    ("spike_pa", 2000, 20000, 8000),
    # plunger friction seen by the force sensor while the motor moves (decays in ~100 ms)
    ("friction_pa", 0, 600, 200),
)

MIN_RESTING_PA = 1000  # offset - drift never below this in a sampled (nominal) plant

# Not sampled: set by the pump's configuration.
FIXED = (
    ("pulse_nl", 500),  # 0.05 U of U-100 insulin (1 U = 10 uL)
    ("steps_per_pulse", 10),  # motor steps per pulse, for retract()
)


def nominal():
    """The nominal parameter set (the middle of the road, no variation)."""
    params = {}
    for name, _lo, _hi, nom in RANGES:
        params[name] = nom
    for name, value in FIXED:
        params[name] = value
    return params


def sample(seed, pulse_nl=500):
    """A parameter set drawn uniformly over RANGES with a seeded integer PRNG."""
    rng = XorShift32(seed)
    params = {}
    for name, lo, hi, _nom in RANGES:
        params[name] = rng.between(lo, hi)
    # the preload keeps the resting reading at least 1 kPa off the ADC's low rail, whatever the
    # drift: a sensor sitting on its rail is a sensor fault (SEN-1), not a nominal pump
    limit = params["offset_pa"] - MIN_RESTING_PA
    if params["drift_pa"] > limit:
        params["drift_pa"] = limit
    for name, value in FIXED:
        params[name] = value
    params["pulse_nl"] = pulse_nl
    return params


def check(params):
    """Raise ValueError naming the first missing or out-of-range parameter."""
    for name, lo, hi, _nom in RANGES:
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
    the sampler, any other key overrides one parameter. ValueError names the key."""
    if raw is None:
        return nominal()
    if not isinstance(raw, dict):
        raise ValueError("%s: expected an object" % where)
    seed = raw.get("sample")
    params = nominal() if seed is None else sample(seed)
    for key in raw:
        if key == "sample":
            continue
        if key not in params:
            raise ValueError("%s.%s: unknown plant parameter" % (where, key))
        params[key] = raw[key]
    try:
        check(params)
    except ValueError as e:
        raise ValueError("%s: %s" % (where, e)) from None
    return params
