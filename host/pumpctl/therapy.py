"""Insulin on board and the bolus calculator on the host, with the firmware's own code.

``pumpctl iob`` and ``pumpctl wizard`` import pump.actioncurve and pump.wizard
(never a second implementation): what they print is what the pump computes.
``live_status`` reads one status frame from a board for their ``--port``.
"""

from __future__ import annotations

import time

from . import proto
from .errors import PumpctlError, UsageError
from .firmware import import_firmware
from .link import Link

import_firmware()
from pump import actioncurve, wizard  # noqa: E402
from pump.units import InputError  # noqa: E402

PRESETS = {name: (dia, peak) for name, dia, peak in actioncurve.PRESETS}


def curve(dia_min: int, peak_min: int, delay_min: int = 0) -> actioncurve.ActionCurve:
    try:
        return actioncurve.ActionCurve(dia_min, peak_min, delay_min)
    except InputError as e:
        flag = "--" + e.where.rsplit(".", 1)[-1].replace("_", "-")
        raise UsageError(f"{flag}: {e.message}") from None


def parse_dose(text: str) -> tuple[int, int]:
    """'U@MIN' -> (mU, seconds): '2.5@30' is 2.5 U given at minute 30."""
    amount, at, minute = text.partition("@")
    try:
        mu = round(float(amount) * 1000)
        seconds = round(float(minute) * 60)
    except ValueError:
        mu = seconds = -1
    if not at or mu <= 0 or seconds < 0 or mu > 100_000:
        raise UsageError(f"--dose: expected U@MIN (e.g. 2.5@30: 2.5 U at minute 30), got {text!r}")
    return mu, seconds


def iob_points(c: actioncurve.ActionCurve, doses: list[tuple[int, int]],
               at_min: list[float]) -> list[dict]:
    """IOB (U) at each minute of ``at_min`` from ``doses`` [(mU, s)], on the firmware curve."""
    points = []
    for minute in at_min:
        now = round(minute * 60)
        mu = sum(c.on_board(amount, now - t) for amount, t in doses if t <= now)
        points.append({"at_min": minute, "iob_u": mu / 1000})
    return points


def proposal(carbs: int, bg: int, cr: float, isf: int, low: int, high: int, iob_u: float,
             step_u: float, max_u: float, min_bg: int) -> wizard.Proposal:
    cr10 = round(cr * 10)
    if abs(cr * 10 - cr10) > 1e-6 or not 10 <= cr10 <= 1500:
        raise UsageError(f"--cr: expected grams per unit 1..150 with at most 1 decimal, got {cr}")
    for flag, value, lo, hi in (("--carbs", carbs, 0, 300), ("--isf", isf, 5, 400),
                                ("--target-low", low, 40, 300), ("--target-high", high, 40, 300),
                                ("--min-bg", min_bg, 50, 90)):
        if not lo <= value <= hi:
            raise UsageError(f"{flag}: {value} is outside {lo}..{hi}")
    if bg and not 20 <= bg <= 600:
        raise UsageError(f"--bg: {bg} is outside 20..600 mg/dL")
    if low > high:
        raise UsageError("--target-low: must not exceed --target-high")
    step, max_mu, iob_mu = round(step_u * 1000), round(max_u * 1000), round(iob_u * 1000)
    if not 1 <= step <= 5000:
        raise UsageError(f"--step: expected 0.001..5 U, got {step_u}")
    if not 1 <= max_mu <= 25000:
        raise UsageError(f"--max-bolus: expected 0.001..25 U, got {max_u}")
    if not 0 <= iob_mu <= 100_000:
        raise UsageError(f"--iob: expected 0..100 U, got {iob_u}")
    return wizard.propose(carbs, bg, cr10, isf, low, high, iob_mu, step, max_mu, min_bg)


def proposal_json(p: wizard.Proposal) -> dict:
    """The keys `pumpctl wizard --json` prints (docs/therapy.md)."""
    return {"food_u": p.food / 1000, "correction_u": p.correction / 1000, "iob_u": p.iob / 1000,
            "suggested_u": p.suggested / 1000, "capped": p.capped, "refused": p.refused,
            "reason": p.reason or None}


def proposal_text(p: wizard.Proposal, step_u: float, max_u: float) -> str:
    if p.refused:
        return (f"no bolus proposed: BG {p.bg} mg/dL is below the minimum for a calculation "
                f"({wizard.BG_BELOW_MIN})")
    lines = [
        f"food          {p.food / 1000:7.3f} U  ({p.carbs} g)",
        f"correction    {p.correction / 1000:7.3f} U" + (f"  (BG {p.bg} mg/dL)" if p.bg else
                                                           "  (no BG)"),
        f"IOB           {-p.iob / 1000:7.3f} U  (on board {p.iob_on_board / 1000:.3f} U; "
        "only a positive correction is reduced)",
        f"rounded down  {-p.rounding / 1000:7.3f} U  (to the {step_u:g} U step)",
    ]
    if p.capped:
        lines.append(f"capped        {-p.cap / 1000:7.3f} U  (max bolus {max_u:g} U)")
    lines.append(f"suggested     {p.suggested / 1000:7.3f} U" +
                 ("  CAPPED at max bolus" if p.capped else ""))
    return "\n".join(lines)


def live_status(port: str, timeout: float = 5.0) -> dict:
    """A status frame from a board: asked for with the `status` command (read-only, open even
    on a board with a device key), or the next periodic one."""
    link = Link.open(port)
    reader = proto.FrameReader()
    deadline = time.monotonic() + timeout
    asked = False
    try:
        while time.monotonic() < deadline:
            data = link.read_available()  # waits up to the port's 50 ms read timeout
            if not asked:
                link.write(proto.encode(proto.COMMAND, 1, {"cmd": "status", "args": {}}))
                asked = True
            for kind, item in reader.feed(data):
                if kind == "frame" and item.kind == proto.STATUS:
                    if "iob_mu" not in item.body:
                        raise PumpctlError(f"{port}: the firmware reports no insulin on board "
                                           "(older than this pumpctl)")
                    return item.body
    finally:
        link.close()
    raise PumpctlError(f"{port}: no status frame within {timeout:g} s")
