"""Hypothesis strategies for scenarios: random profiles, temp basals, suspends and boluses."""

from emu import scenario
from hypothesis import strategies as st


def hms(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@st.composite
def programs(draw, short=False):
    """A random basal profile plus random valid temp basals, suspends, resumes and boluses.

    ``short``: 10 to 30 minutes with actions a few minutes apart (for the slow MCU target)."""
    n = draw(st.integers(1, 48))
    starts = sorted(draw(st.sets(st.integers(1, 1439), min_size=n - 1, max_size=n - 1)))
    rates = draw(st.lists(st.integers(0, 100).map(lambda r: r / 20), min_size=n, max_size=n))
    profile = [[s, r] for s, r in zip([0] + starts, rates, strict=False)]
    run_min = draw(st.integers(10, 30)) if short else draw(st.integers(1, 4)) * 60
    tod0 = draw(st.integers(0, 1439)) * 60_000
    gap_s = 300 if short else 3600
    actions, t, suspended = [], 0, False
    for _ in range(draw(st.integers(0, 8))):
        t += draw(st.integers(1, gap_s)) * 1000
        if t >= run_min * 60_000:
            break
        kind = draw(st.sampled_from(["temp", "temp_pct", "suspend", "bolus", "cancel_temp"]))
        if kind == "suspend":
            actions.append({"at": hms(t), "command": "resume" if suspended else "suspend"})
            suspended = not suspended
        elif kind.startswith("temp") and not suspended:
            minutes = draw(st.integers(15, 240))
            if kind == "temp":
                args = {"rate_u_per_h": draw(st.integers(0, 200)) / 20, "duration_min": minutes}
            else:
                args = {"percent": draw(st.integers(0, 200)), "duration_min": minutes}
            actions.append({"at": hms(t), "command": "temp_basal", "args": args})
        elif kind == "bolus":
            args = {"amount_u": draw(st.integers(1, 100)) / 20}
            if draw(st.booleans()):
                args["duration_min"] = draw(st.integers(15, 120))
            actions.append({"at": hms(t), "command": "bolus", "args": args})
        elif kind == "cancel_temp":
            actions.append({"at": hms(t), "command": "cancel_temp"})
    return scenario(
        duration=f"{run_min // 60}:{run_min % 60:02d}",
        start_time=hms(tod0)[:-3],
        settings={
            "max_basal_u_per_h": 30,
            "max_bolus_u": 5,
            "max_u_per_h": 60,
            "max_u_per_day": 300,
        },
        basal_u_per_h=profile,
        actions=actions,
    )
