# Runs one plant read ahead in batches (Plant.read) and one stepped reading by reading
# (step + read_counts, batch=0) through the same inputs and returns what each gave.
# Imported by tests/test_plant_batch.py under CPython and run by it on the MicroPython Unix
# port (cases as JSON on stdin, results as JSON on stdout): the two plants must agree on
# both interpreters, and the interpreters with each other.
import json
import sys

from boards.emu.plant import Plant

STATE = (
    "t_ms", "excess_mpa", "depot_mpa", "_push_left", "walk_mpa", "_walk_s", "step_pa",
    "_step_end", "friction_mpa", "line", "kink_factor", "leak_pct", "connector_open", "sensor",
    "stuck_counts", "range_counts", "noise_factor", "spike_pending", "last_counts", "pending",
    "_label_events", "_delivered", "_spilled", "_stored", "pushed_nl", "pulses", "release_nl",
)  # fmt: skip


def state(plant):
    out = [plant.rng.state]
    for name in STATE:
        value = getattr(plant, name)
        if name in ("pending", "_label_events"):
            value = json.loads(json.dumps(value))  # tuples and lists alike
        out.append(value)
    return out


def apply(plant, op, batched):
    """Op ``op`` on ``plant``; what it returns (readings for "r")."""
    kind = op[0]
    if kind == "r":  # op[1] sensor readings op[2] ms apart, as the emulated board reads
        dt = op[2]
        out = []
        for _ in range(op[1]):
            if batched:
                out.append(plant.read(dt))
            else:
                plant.step(dt)
                out.append(plant.read_counts())
        return out
    if kind == "p":
        plant.pulse()
        return None
    if kind == "x":
        plant.retract(op[1])
        return None
    if kind == "f":
        plant.set_fault(op[1], op[2])
        return None
    if kind == "a":
        return [plant.delivered_nl(), plant.spilled_nl(), plant.stored_nl()]
    if kind == "l":
        return plant.line_pa()
    if kind == "c":
        return plant.read_counts()
    if kind == "t":
        plant.step(op[1])
        return None
    if kind == "L":
        return json.loads(json.dumps(plant.take_labels()))
    if kind == "k":
        return plant.connector_closed()
    if kind == "m":
        return plant.compliance_milli()
    if kind == "S":
        if batched:
            plant.sync()
        return state(plant)
    raise ValueError(kind)


def run_case(case):
    """[[batched results...], [stepped results...]], each ending with the final state."""
    results = []
    for batched in (True, False):
        plant = Plant(dict(case["params"]), case["seed"], 40 if batched else 0)
        if case.get("spike_rate") is not None:  # beyond the sampler's range: rare draws often
            plant._spike_rate = case["spike_rate"]
        if case.get("steps_per_day") is not None:
            plant._steps_per_day = case["steps_per_day"]
        if case.get("walk_pa") is not None:  # a walk that reaches its bound within seconds
            plant.p["walk_pa"] = plant._walk_pa = case["walk_pa"]
        out = []
        now = 0  # the plant's time as stepping has it (a batched plant's t_ms runs ahead)
        for op in case["ops"]:
            if op[0] == "s":  # a fault scheduled op[1] ms from now
                plant.schedule(now + op[1], op[2], **op[3])
                out.append(None)
                continue
            out.append(apply(plant, op, batched))
            if op[0] == "r" and op[2] > 0:
                now += op[1] * op[2]
            elif op[0] == "t" and op[1] > 0:
                now += op[1]
        if batched:
            plant.sync()
        out.append(state(plant))
        results.append(out)
    return results


if __name__ == "__main__":
    print(json.dumps([run_case(case) for case in json.loads(sys.stdin.read())]))
