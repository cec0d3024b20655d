"""Commands that change delivery: parsed once from human units, executed against the app.

The same parser serves scenario files, the serial protocol and tests, so a
bad argument gets the same error wherever it comes from. ``parse`` checks
types and ranges (InputError naming the field); ``execute`` applies the
limits in force at that moment and returns None or the refusal reason.
"""

from pump.basal import BasalProfile
from pump.units import InputError, to_int, to_milli

NAMES = (
    "bolus",
    "cancel_bolus",
    "temp_basal",
    "cancel_temp",
    "suspend",
    "resume",
    "set_profile",
    "ack",
    "planned_disconnect",
    "planned_reconnect",
)
_NO_ARGS = ("cancel_bolus", "cancel_temp", "suspend", "resume", "planned_reconnect")


def _only(args, allowed, where):
    for key in sorted(args):  # sorted: the same error on every interpreter
        if key not in allowed:
            raise InputError(where + "." + str(key), "unknown argument")


def parse(name, args, where="command"):
    """(name, a, b) with integer arguments, or InputError."""
    if name not in NAMES:
        raise InputError(where, "unknown command %r (known: %s)" % (name, ", ".join(NAMES)))
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InputError(where + ".args", "expected an object")
    if name in _NO_ARGS:
        _only(args, (), where + ".args")
        return (name, 0, 0)
    if name == "bolus":
        _only(args, ("amount_u", "duration_min"), where + ".args")
        if "amount_u" not in args:
            raise InputError(where + ".args.amount_u", "missing")
        amount = to_milli(args["amount_u"], where + ".args.amount_u", 0.001, 25)
        minutes = to_int(args.get("duration_min", 0), where + ".args.duration_min", 0, 480)
        return (name, amount, minutes * 60000)
    if name == "temp_basal":
        _only(args, ("rate_u_per_h", "percent", "duration_min"), where + ".args")
        has_rate = "rate_u_per_h" in args
        if has_rate == ("percent" in args):
            raise InputError(where + ".args", "give exactly one of rate_u_per_h and percent")
        if "duration_min" not in args:
            raise InputError(where + ".args.duration_min", "missing")
        minutes = to_int(args["duration_min"], where + ".args.duration_min", 1, 1440)
        if has_rate:
            rate = to_milli(args["rate_u_per_h"], where + ".args.rate_u_per_h", 0, 30)
            return (name, (rate, -1), minutes * 60000)
        percent = to_int(args["percent"], where + ".args.percent", 0, 1000)
        return (name, (-1, percent), minutes * 60000)
    if name == "set_profile":
        _only(args, ("basal_u_per_h",), where + ".args")
        profile = BasalProfile.parse(
            args.get("basal_u_per_h"), 30000, where + ".args.basal_u_per_h"
        )
        return (name, profile, 0)
    if name == "planned_disconnect":  # DIS-2, see pump/linetask.py
        _only(args, ("remind_min",), where + ".args")
        minutes = to_int(args.get("remind_min", 60), where + ".args.remind_min", 1, 480)
        return (name, minutes * 60000, 0)
    # ack
    _only(args, ("kind",), where + ".args")
    kind = args.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise InputError(where + ".args.kind", "expected an alarm kind")
    return (name, kind, 0)


def execute(app, now, command, source, confirm_on_pump=False):
    """Apply a parsed command at ``now``; None if accepted, else the reason.

    ``confirm_on_pump``: a bolus is only offered; it starts when the user confirms it on
    the pump (the serial link uses this: nothing off the pump starts insulin alone)."""
    name, a, b = command
    delivery = app.delivery
    if name == "bolus" and confirm_on_pump:
        reason = app.button.offer(now, a, b, source)
    elif name == "bolus":
        reason = delivery.request_bolus(now, a, b, source)
    elif name == "cancel_bolus":
        reason = delivery.cancel_bolus(now, source)
    elif name == "temp_basal":
        reason = delivery.set_temp(now, a[0], a[1], b)
    elif name == "cancel_temp":
        reason = delivery.cancel_temp(now)
    elif name == "suspend":
        reason = delivery.set_mode(now, "suspended", source)
    elif name == "resume":
        # a planned disconnect ends with planned_reconnect (or the connector), which also
        # brings line supervision back; a bare resume would deliver unsupervised
        planned = app.line.planned
        reason = "planned_disconnect" if planned else delivery.set_mode(now, "run", source)
    elif name == "set_profile":
        reason = delivery.set_profile(now, a)
    elif name == "planned_disconnect":
        reason = app.line.planned_start(now, a)
    elif name == "planned_reconnect":
        reason = app.line.planned_end(now, source)
    else:
        reason = None if app.ack(now, a) else "no_active_alarm"
    app.log.emit("command", "name=%s src=%s result=%s" % (name, source, reason or "ok"))
    return reason
