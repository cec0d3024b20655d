"""Detection benchmark: time and insulin from fault onset to alarm, false alarms per day.

Runs the firmware's detectors (pump.linewatch, the same code the firmware runs)
against the plant model on CPython with the reference pulse schedule of
pumpctl.linesim: far faster than the whole firmware, so thousands of runs fit
in minutes. Every run draws its plant from the seeded sampler
(boards/emu/plantparams.py) and its onset at a random point of the pulse cycle.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass

from boards.emu import plantparams
from boards.emu.intmath import XorShift32

from pumpctl.linesim import BOLUS_PULSE_MS, simulate
from pumpctl.timefmt import hms

PULSE_U = 0.05
FAULTS = (
    ("occlusion", "occlusion", {}, "occlusion"),
    ("partial occlusion (kink x8)", "kink", {"factor": 8}, "occlusion"),
    ("disconnect", "disconnect", {}, "disconnect"),
    ("leak 50%", "leak", {"pct": 50}, "leak"),
    ("sensor stuck", "stuck", {}, "sensor"),
)
# name, basal mU/h, bolus pulses, pulses of an open bolus the site saw before (half-way
# through the warm-up: the bolus detector learns this site's open-line response from it),
# pulses of the prime at the set change (DEL-7; a minute into the run)
CONDITIONS = (("0.05 U/h", 50, 0, 0, 0), ("0.1 U/h", 100, 0, 0, 0), ("1 U/h", 1000, 0, 0, 0),
              ("2 U/h", 2000, 0, 0, 0), ("5 U/h", 5000, 0, 0, 0),
              ("bolus 5 U, 1st on the site, primed 1 U", 1000, 100, 0, 20),
              ("bolus 5 U, 2nd on the site", 1000, 100, 40, 0))
PRIME_AT_MS = 60000  # the set change's prime, after the sensor noise has been measured
TARGET_PULSES = {"occlusion": 3, "disconnect": 5, "leak": 10}


@dataclass
class Row:
    fault: str
    condition: str
    runs: int
    detected: int
    pulses: list[int]
    minutes: list[float]

    def cells(self) -> list[str]:
        if not self.pulses:
            return [self.fault, self.condition, f"{self.detected}/{self.runs}", "-", "-", "-", "-"]
        med_p, max_p = statistics.median(self.pulses), max(self.pulses)
        med_m, max_m = statistics.median(self.minutes), max(self.minutes)
        return [self.fault, self.condition, f"{self.detected}/{self.runs}",
                f"{med_p:g} / {max_p}", f"{med_m:.1f} / {max_m:.1f}",
                f"{med_p * PULSE_U:.2f} / {max_p * PULSE_U:.2f}",
                self.target()]

    def target(self) -> str:
        target = TARGET_PULSES.get(self.fault.split()[0])
        return f"<= {target}" if target else "-"


def plant(seed: int, widened: bool, **override) -> dict:
    """A sampled plant: over the widened ranges or the first wave's (issue 15)."""
    params = plantparams.sample(seed, first_wave=not widened)
    params.update(override)
    return params


def one_run(kind: str, kw: dict, alarm_kind: str, rate: int, bolus_pulses: int, seed: int,
            widened: bool = False, snr16: int = 0, prior: int = 0, prime: int = 0,
            bolus_ms: int = BOLUS_PULSE_MS):
    """Pulses and minutes from onset to the expected alarm (None if missed). ``snr16``:
    the sensor noise set to the plant's bump / (snr16 / 16), with SEN-1's noisy test off
    (the SNR sweep measures the detectors where SEN-1 would stop them). ``prior``: an open
    bolus of this many pulses half-way through the warm-up (the site has seen a bolus).
    ``prime``: the set change's prime of this many pulses at PRIME_AT_MS (DEL-7).
    ``bolus_ms``: the bolus (and prime) pulse period, from the bolus speed setting."""
    rng = XorShift32(seed)
    params = plant(seed, widened)
    noisy = at_snr(params, snr16)
    interval = 50 * 3600000 // rate  # ms between basal pulses
    warm = max(3600000, 8 * interval)
    boluses = []
    if bolus_pulses:
        start = warm + rng.below(interval)
        # the fault starts somewhere in the first 10 pulses of the bolus
        onset = start + rng.below(10) * bolus_ms + rng.below(bolus_ms)
        boluses = [(start, bolus_pulses)]
    else:
        onset = warm + rng.below(interval)
    if prior:
        boluses.append((warm // 2, prior))
    if prime:
        boluses.append((PRIME_AT_MS, prime))
    onset -= onset % 100
    limit = onset + 40 * interval + 600000
    out = simulate(params, seed, limit, rate, [*noisy, (onset, kind, kw)], boluses=boluses,
                   stop_on=alarm_kind, after_ms=onset, sen1_noisy=not snr16, bolus_ms=bolus_ms)
    for got, t in out.alarms:
        if got == alarm_kind:
            n = sum(1 for tp in out.pulses_ms if onset <= tp <= t)
            return n, (t - onset) / 60000
    return None


def bump_pa(params: dict) -> int:
    """The bump of one pulse as the sensor sees it (Pa): pulse volume / compliance, x gain."""
    bump = params["pulse_nl"] * 1000 // params["compliance_nl_per_kpa"]
    return bump * (1000 + params["gain_permille"]) // 1000


def at_snr(params: dict, snr16: int) -> list:
    """Set the sensor noise to bump / (snr16 / 16) (nothing when snr16 is 0): within the
    plant's noise range, times the plant's ``noisy`` sensor fault from the start where the
    range is not enough. Returns the faults to schedule."""
    if not snr16:
        return []
    noise = bump_pa(params) * 16 // snr16
    factor = (noise + 499) // 500
    params["noise_pa"] = max(25, noise // factor)
    return [(100, "noisy", {"factor": factor})] if factor > 1 else []


def cell_tasks(runs: int, seed: int, widened: bool = False) -> list[dict]:
    """Every run of the table as campaign parameters: ``runs`` per fault and condition,
    seeds drawn in table order (keyword arguments of one_run / firmware_run)."""
    rng = XorShift32(seed)
    return [{"kind": kind, "kw": kw, "alarm_kind": alarm, "rate": rate, "bolus_pulses": bolus,
             "seed": rng.next(), "widened": widened, **({"prior": prior} if prior else {}),
             **({"prime": prime} if prime else {})}
            for _, kind, kw, alarm in FAULTS for _, rate, bolus, prior, prime in CONDITIONS
            for _ in range(runs)]


# the bolus speed setting (bolus_u_per_min, pump/settings.py): 0.5 to 5 U/min in mU/min
SPEED_MIN = 500
SPEED_MAX = 5000
SPEED_FAULTS = ("occlusion", "leak 50%")  # what the bolus test judges
SPEED_PERIODS = (600, 1000, 2000, 4000, 6000)


def period_ms(pulse_mu: int, speed_mu_min: int) -> int:
    """ms per pulse at a bolus speed, as the firmware's train (pump/delivery.py _train_ms)."""
    return pulse_mu * 60000 // speed_mu_min


def speed_tasks(runs: int, periods, seed: int = 1, widened: bool = False) -> list[dict]:
    """The bolus cells (SPEED_FAULTS, bolus conditions) at each pulse period: the plants and
    onsets of cell_tasks(runs, seed, widened)'s bolus cells, the period set (and left out of
    the task at the default, so those are the table's own tasks)."""
    base = [t for (name, *_), t in zip(_cell_names(runs), cell_tasks(runs, seed, widened),
                                       strict=True)
            if t["bolus_pulses"] and name in SPEED_FAULTS]
    return [dict(t, **({"bolus_ms": ms} if ms != BOLUS_PULSE_MS else {}))
            for ms in periods for t in base]


def _cell_names(runs: int) -> list[tuple[str, str]]:
    """(fault, condition) of each task of cell_tasks(runs, ...), in its order."""
    return [(name, cond) for name, *_ in FAULTS for cond, *_ in CONDITIONS for _ in range(runs)]


def speed_rows(runs: int, periods, outcomes: list) -> list[Row]:
    """One Row per period, fault and bolus condition from the outcomes of speed_tasks."""
    rows = []
    it = iter(outcomes)
    for ms in periods:
        for name, *_ in FAULTS:
            if name not in SPEED_FAULTS:
                continue
            for cond, _, bolus, *_ in CONDITIONS:
                if not bolus:
                    continue
                u_min = PULSE_U * 60000 / ms
                row = Row(name, f"{cond}, {ms} ms a pulse ({u_min:.3g} U/min)", runs, 0, [], [])
                for _ in range(runs):
                    got = next(it)
                    if got is not None:
                        row.detected += 1
                        row.pulses.append(got[0])
                        row.minutes.append(got[1])
                rows.append(row)
    return rows


def cell_rows(runs: int, outcomes: list) -> list[Row]:
    """One Row per fault and condition from the outcomes of cell_tasks, in its order."""
    rows = []
    it = iter(outcomes)
    for name, _, _, _ in FAULTS:
        for cond, *_ in CONDITIONS:
            row = Row(name, cond, runs, 0, [], [])
            for _ in range(runs):
                got = next(it)
                if got is not None:
                    row.detected += 1
                    row.pulses.append(got[0])
                    row.minutes.append(got[1])
            rows.append(row)
    return rows


def _table(run_one, runs: int, seed: int, widened: bool = False) -> list[Row]:
    """One Row per fault and condition, ``runs`` seeded runs of ``run_one`` each (in-process)."""
    return cell_rows(runs, [run_one(**t) for t in cell_tasks(runs, seed, widened)])


def evaluate(runs: int, seed: int = 1, widened: bool = False) -> list[Row]:
    """The detectors with the plant and a reference pulse schedule (fast: CPython, no app)."""
    return _table(one_run, runs, seed, widened)


def day_bolus_ms(seed: int) -> int:
    """The bolus pulse period of a nominal day with a drawn bolus speed: the speed drawn from
    the setting's range in 0.05 U/min steps (its own stream, so the day's other draws are
    those of the day at the default speed); most periods are no whole number of 100 ms ticks."""
    speed = XorShift32(seed ^ 0x5EED5EED).between(SPEED_MIN // 50, SPEED_MAX // 50) * 50
    return period_ms(50, speed)


def nominal_day(seed: int, widened: bool = False, snr16: int = 0, hours: int = 24,
                prime: int = 0, bolus_speed: bool = False):
    """One simulated nominal day on a sampled plant: a random basal rate, 3 boluses and a
    2-hour temporary rate (0 to 8 U/h) at a random time. ``prime``: pulses of a prime made a
    minute after boot (0: not primed), the first pulses since boot as on a fresh set.
    ``bolus_speed``: the boluses (and prime) at a drawn speed (day_bolus_ms), not 1.5 U/min.
    ``snr16`` and ``hours``: the SNR sweep's shorter nominal runs at a set signal-to-noise
    (see one_run)."""
    rng = XorShift32(seed)
    params = plant(seed, widened)
    noisy = at_snr(params, snr16)
    rate = rng.between(50, 5000)
    boluses = [(rng.between(1, 22) * 3600000 + rng.below(3600000), rng.between(10, 200))
               for _ in range(3)]
    temp_start = rng.between(1, 20) * 3600000
    temp = (temp_start, temp_start + 7200000, rng.between(0, 8000))
    if prime:
        boluses.append((PRIME_AT_MS, prime))
    bolus_ms = day_bolus_ms(seed) if bolus_speed else BOLUS_PULSE_MS
    return simulate(params, seed, hours * 3600000, rate, noisy, boluses=boluses, temp=temp,
                    sen1_noisy=not snr16, bolus_ms=bolus_ms).alarms


def _progress(results: list, seeds: list) -> None:
    """Progress on stderr: each false alarm as it comes, a count every 50 days."""
    done = len(results)
    if results[-1]:
        sys.stderr.write(f"  false alarm on day seed {seeds[done - 1]}: {results[-1]}\n")
    if done % 50 == 0 or done == len(seeds):
        alarms = sum(len(a) for a in results)
        sys.stderr.write(f"  nominal days simulated: {done}/{len(seeds)}, false alarms {alarms}\n")
        sys.stderr.flush()


def day_seeds(days: int, seed: int = 99) -> list[int]:
    """The nominal days' seeds (one campaign task each)."""
    rng = XorShift32(seed)
    return [rng.next() for _ in range(days)]


def false_alarm_count(seeds: list[int], results: list) -> tuple[int, list]:
    """(false alarms, [(day seed, alarms)] for the days that had any)."""
    found = [(s, [tuple(x) for x in a]) for s, a in zip(seeds, results, strict=True) if a]
    return sum(len(a) for _, a in found), found


def false_alarms(days: int, seed: int = 99) -> tuple[int, list]:
    """In-process: ``days`` nominal days, progress on stderr."""
    seeds = day_seeds(days, seed)
    results = []
    for s in seeds:
        results.append(nominal_day(s))
        _progress(results, seeds)
    return false_alarm_count(seeds, results)


def occ2_release(runs: int, seed: int = 5) -> tuple[list[int], list[int]]:
    """Unintended bolus (nL) when an occlusion clears 10 min after the alarm, with and
    without the OCC-2 back-off, at 1 U/h on sampled plants."""
    got = [occ2_one(**t) for t in occ2_tasks(runs, seed)]
    return [w for w, _ in got], [wo for _, wo in got]


def occ2_tasks(runs: int, seed: int = 5, widened: bool = False) -> list[dict]:
    """occ2_release's runs as campaign parameters (keyword arguments of occ2_one)."""
    rng = XorShift32(seed)
    tasks = []
    for _ in range(runs):
        s = rng.next()
        onset = 3600000 + rng.below(180000)
        tasks.append({"seed": s, "onset": onset - onset % 100, "widened": widened})
    return tasks


def occ2_one(seed: int, onset: int, widened: bool = False) -> tuple[int, int]:
    """Unintended bolus (nL) with and without the OCC-2 back-off on one sampled plant."""
    params = plant(seed, widened)
    with_relief, without = (
        simulate(params, seed, onset + 3600000, 1000, [(onset, "occlusion", {})],
                 relieve=relieve, clear_after_ms=600000).release_nl
        for relieve in (True, False))
    return with_relief, without


FIRMWARE_ALARM = {"occlusion": "occlusion", "disconnect": "disconnect", "leak": "disconnect",
                  "sensor": "sensor"}


def firmware_run(kind: str, kw: dict, alarm_kind: str, rate: int, bolus_pulses: int, seed: int,
                 widened: bool = False, prior: int = 0, prime: int = 0,
                 bolus_ms: int = BOLUS_PULSE_MS):
    """Like one_run, but the whole firmware (App on the emulated board, CPython in-process)
    closes the loop with the plant: its own delivery schedule, its own line task. ``bolus_ms``
    sets the bolus speed setting (0.05 U per ``bolus_ms``)."""
    import io

    from boards.emu import plant
    from boards.emu.runner import run
    from boards.emu.scenario import Scenario

    rng = XorShift32(seed)
    interval = 50 * 3600000 // rate
    warm = max(3600000, 8 * interval)
    actions = []
    if bolus_pulses:
        start = (warm + rng.below(interval)) // 1000 * 1000
        onset = start + 1000 * rng.between(1, 20)
        actions.append({"at": hms(start), "command": "bolus",
                        "args": {"amount_u": bolus_pulses * PULSE_U}})
    else:
        onset = (warm + rng.below(interval)) // 1000 * 1000
    if prior:
        actions.insert(0, {"at": hms(warm // 2 // 1000 * 1000), "command": "bolus",
                           "args": {"amount_u": prior * PULSE_U}})
    if prime:
        actions[:0] = [{"at": hms(PRIME_AT_MS - 1000), "command": "set_changed"},
                       {"at": hms(PRIME_AT_MS), "command": "prime",
                        "args": {"amount_u": prime * PULSE_U}}]
    fault = {"at": hms(onset), "fault": kind}
    fault.update(kw)
    actions.append(fault)
    settings = {"pulse_u": PULSE_U, "max_bolus_u": 10, "max_basal_u_per_h": 10,
                "max_u_per_h": 30}
    if bolus_ms != BOLUS_PULSE_MS:
        settings["bolus_u_per_min"] = round(PULSE_U * 60000 / bolus_ms, 3)
    raw = {"format": "pumpscenario/1", "name": "bench", "seed": seed % 2**32,
           "duration": hms(onset + 12 * interval + 600000),
           "settings": settings,
           "basal_u_per_h": [[0, rate / 1000]], "plant": {"sample": seed, "widened": widened},
           "actions": actions}
    out = io.StringIO()
    run(Scenario(raw, plant.FAULTS), out)
    want = FIRMWARE_ALARM[alarm_kind]
    pulses = []
    for line in out.getvalue().splitlines():
        parts = line.split()
        t = int(parts[0])
        if parts[1] == "pulse":
            pulses.append(t)
        elif (parts[1] == "alarm" and f"kind={want}" in parts and "state=raised" in parts
              and t >= onset):
            return sum(1 for tp in pulses if tp >= onset), (t - onset) / 60000
    return None


def evaluate_firmware(runs: int, seed: int = 3) -> list[Row]:
    """The same table through the whole firmware on the emulated board."""
    return _table(firmware_run, runs, seed)


# ---- the bench as one campaign (pumpctl.campaign): every run is a task ----------------------

PARTS = {"cell": one_run, "firmware": firmware_run, "occ2": occ2_one, "day": nominal_day,
         "snr": one_run, "snrday": nominal_day, "speed": one_run}

# SEN-1's "noisy beyond use" (issue 15): the detectors against the signal-to-noise ratio
# (bump of one pulse / noise sigma, in 16ths), SEN-1's own noisy test off
SNR_LEVELS = (16, 24, 32, 40, 48, 64, 96)
SNR_FAULTS = (("occlusion", "occlusion", {}, "occlusion"),
              ("disconnect", "disconnect", {}, "disconnect"),
              ("leak 50%", "leak", {"pct": 50}, "leak"))
SNR_RATES = (100, 1000)
SNR_HOURS = 6  # each nominal run of the sweep


def bench_task(part: str, **params):
    """One detect-bench campaign task: ``part`` names the function that runs it."""
    return PARTS[part](**params)


def snr_tasks(runs: int, widened: bool, seed: int = 11) -> list[dict]:
    """The sweep's runs: per level, ``runs`` plants per fault and rate, and ``runs`` nominal
    runs of SNR_HOURS."""
    rng = XorShift32(seed)
    tasks = []
    for level in SNR_LEVELS:
        for _, kind, kw, alarm in SNR_FAULTS:
            for rate in SNR_RATES:
                tasks.extend({"part": "snr", "kind": kind, "kw": kw, "alarm_kind": alarm,
                              "rate": rate, "bolus_pulses": 0, "seed": rng.next(),
                              "widened": widened, "snr16": level} for _ in range(runs))
        tasks.extend({"part": "snrday", "seed": rng.next(), "widened": widened, "snr16": level,
                      "hours": SNR_HOURS} for _ in range(runs))
    return tasks


def snr_rows(runs: int, outcomes: list) -> list[list[str]]:
    """One row per SNR level from the outcomes of snr_tasks, in its order."""
    rows = []
    it = iter(outcomes)
    for level in SNR_LEVELS:
        row = [f"{level / 16:g}"]
        ok = True
        for name, _, _, _ in SNR_FAULTS:
            target = TARGET_PULSES[name.split()[0]]
            got = [next(it) for _ in range(runs * len(SNR_RATES))]
            hits = [g[0] for g in got if g is not None]
            ok = ok and len(hits) == len(got) and max(hits, default=0) <= target
            row.append(f"{len(hits)}/{len(got)}, max {max(hits)}" if hits else f"0/{len(got)}")
        alarms = sum(len(next(it)) for _ in range(runs))
        ok = ok and alarms == 0
        row.append(f"{alarms} in {runs * SNR_HOURS} h")
        row.append("yes" if ok else "no")
        rows.append(row)
    return rows


@dataclass
class Plan:
    """The bench's profile: how many runs of each part, and on which plant ranges."""

    runs: int
    fw_runs: int
    occ2_runs: int
    days: int
    widened: bool = False
    snr_runs: int = 0
    days_from: int = 0  # nominal days skipped: days not seen before (the seeds are one sequence)
    days_prime: int = 0  # pulses of a prime a minute after boot on each nominal day (0: none)
    speed_runs: int = 0  # plants per bolus cell at each of speed_periods (0: none)
    speed_periods: tuple = SPEED_PERIODS
    days_bolus_speed: bool = False  # the nominal days' boluses at a drawn speed

    def day_list(self) -> list[int]:
        """The nominal days' seeds: ``days`` of the sequence after its first ``days_from``."""
        return day_seeds(self.days_from + self.days)[self.days_from:]

    def tasks(self) -> list[dict]:
        """Every task, slowest parts first so the cluster's tail stays short."""
        w = self.widened
        fw = ([dict(t, part="firmware") for t in cell_tasks(self.fw_runs, 3, w)]
              if self.fw_runs else [])
        primed = {"prime": self.days_prime} if self.days_prime else {}
        if self.days_bolus_speed:
            primed["bolus_speed"] = True
        days = [{"part": "day", "seed": s, "widened": w, **primed} for s in self.day_list()]
        cells = [dict(t, part="cell") for t in cell_tasks(self.runs, 1, w)] if self.runs else []
        occ2 = [dict(t, part="occ2") for t in occ2_tasks(self.occ2_runs, widened=w)]
        snr = snr_tasks(self.snr_runs, w) if self.snr_runs else []
        speed = ([dict(t, part="speed") for t in speed_tasks(self.speed_runs, self.speed_periods,
                                                             1, w)]
                 if self.speed_runs else [])
        return fw + days + snr + speed + cells + occ2

    def split(self, outcomes: list) -> dict[str, list]:
        """The outcomes of tasks(), by part, each in its own task order."""
        by: dict[str, list] = {part: [] for part in PARTS}
        for t, o in zip(self.tasks(), outcomes, strict=True):
            by["snr" if t["part"] == "snrday" else t["part"]].append(o)
        return by
