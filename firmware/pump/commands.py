"""Host commands: parsed once from human units, executed against the app.

The same parser serves scenario files, the serial protocol and tests, so a
bad argument gets the same error wherever it comes from. Commands are one
table, ``TABLE``: (name, parser, handler). A parser takes ``(args, where)``
and returns the command's two integer-or-object arguments ``(a, b)`` or
raises InputError naming the field; a handler takes ``(app, now, a, b, source,
confirm_on_pump)`` and returns None when accepted, else the refusal reason,
applying the limits in force at that moment. A new command is one row here
plus its line in docs/protocol.md.
"""

from pump import glucose
from pump.basal import BasalProfile
from pump.units import InputError, to_int, to_milli

MAX_PRIME_U = 1  # a cannula fill is a fraction of a unit to about 1 U (docs/requirements.md)


def _only(args, allowed, where):
    for key in sorted(args):  # sorted: the same error on every interpreter
        if key not in allowed:
            raise InputError(where + "." + str(key), "unknown argument")


# -- parsers: (args, where) -> (a, b) ------------------------------------------------


def _no_args(args, where):
    _only(args, (), where)
    return (0, 0)


def _parse_bolus(args, where):
    _only(args, ("amount_u", "duration_min"), where)
    if "amount_u" not in args:
        raise InputError(where + ".amount_u", "missing")
    amount = to_milli(args["amount_u"], where + ".amount_u", 0.001, 25)
    minutes = to_int(args.get("duration_min", 0), where + ".duration_min", 0, 480)
    return (amount, minutes * 60000)


def _parse_prime(args, where):
    """DEL-7: the cannula fill after a set change, up to MAX_PRIME_U."""
    _only(args, ("amount_u",), where)
    if "amount_u" not in args:
        raise InputError(where + ".amount_u", "missing")
    return (to_milli(args["amount_u"], where + ".amount_u", 0.001, MAX_PRIME_U), 0)


def _parse_temp(args, where):
    _only(args, ("rate_u_per_h", "percent", "duration_min"), where)
    has_rate = "rate_u_per_h" in args
    if has_rate == ("percent" in args):
        raise InputError(where, "give exactly one of rate_u_per_h and percent")
    if "duration_min" not in args:
        raise InputError(where + ".duration_min", "missing")
    minutes = to_int(args["duration_min"], where + ".duration_min", 1, 1440)
    if has_rate:
        rate = to_milli(args["rate_u_per_h"], where + ".rate_u_per_h", 0, 30)
        return ((rate, -1), minutes * 60000)
    percent = to_int(args["percent"], where + ".percent", 0, 1000)
    return ((-1, percent), minutes * 60000)


def _parse_profile(args, where):
    _only(args, ("basal_u_per_h",), where)
    return (BasalProfile.parse(args.get("basal_u_per_h"), 30000, where + ".basal_u_per_h"), 0)


def _parse_planned(args, where):  # DIS-2, see pump/linetask.py
    _only(args, ("remind_min",), where)
    return (to_int(args.get("remind_min", 60), where + ".remind_min", 1, 480) * 60000, 0)


def _parse_ack(args, where):
    _only(args, ("kind",), where)
    kind = args.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise InputError(where + ".kind", "expected an alarm kind")
    return (kind, 0)


def _parse_bg(args, where):
    """A reading: mgdl or mmol, source finger (default) or cgm (BG-1)."""
    _only(args, ("mgdl", "mmol", "source"), where)
    source = glucose.parse_source(args.get("source", "finger"), where + ".source")
    return (glucose.parse_value(args, where), source)


def _parse_cgm(args, where):
    """One reading of the CGM stream (every 5 min): mgdl or mmol."""
    _only(args, ("mgdl", "mmol"), where)
    return (glucose.parse_value(args, where), glucose.CGM)


def _parse_wizard(args, where):
    """carbs_g and optionally the BG (bg_mgdl or bg_mmol; else the CGM's, if fresh)."""
    _only(args, ("carbs_g", "bg_mgdl", "bg_mmol"), where)
    carbs = to_int(args.get("carbs_g", 0), where + ".carbs_g", 0, 300)
    bg = 0
    if "bg_mgdl" in args or "bg_mmol" in args:
        if "bg_mgdl" in args and "bg_mmol" in args:
            raise InputError(where, "give at most one of bg_mgdl and bg_mmol")
        named = {}
        for key in ("bg_mgdl", "bg_mmol"):
            if key in args:
                named[key[3:]] = args[key]
        bg = glucose.parse_value(named, where + ".bg")
    return (carbs, bg)


# -- handlers: (app, now, a, b, source, confirm_on_pump) -> None or reason ---------------


def _bolus(app, now, a, b, source, confirm_on_pump):
    if confirm_on_pump:  # the serial link: nothing off the pump starts insulin alone
        return app.button.offer(now, a, b, source)
    return app.delivery.request_bolus(now, a, b, source)


def _cancel_bolus(app, now, a, b, source, confirm_on_pump):
    return app.delivery.cancel_bolus(now, source)


def _temp(app, now, a, b, source, confirm_on_pump):
    return app.delivery.set_temp(now, a[0], a[1], b)


def _cancel_temp(app, now, a, b, source, confirm_on_pump):
    return app.delivery.cancel_temp(now)


def _suspend(app, now, a, b, source, confirm_on_pump):
    return app.delivery.set_mode(now, "suspended", source)


def _resume(app, now, a, b, source, confirm_on_pump):
    # a planned disconnect ends with planned_reconnect (or the connector), which also
    # brings line supervision back; a bare resume would deliver unsupervised
    if app.line.planned:
        return "planned_disconnect"
    return app.delivery.set_mode(now, "run", source)


def _set_profile(app, now, a, b, source, confirm_on_pump):
    return app.delivery.set_profile(now, a)


def _planned_disconnect(app, now, a, b, source, confirm_on_pump):
    return app.line.planned_start(now, a)


def _planned_reconnect(app, now, a, b, source, confirm_on_pump):
    return app.line.planned_end(now, source)


def _ack(app, now, a, b, source, confirm_on_pump):
    return None if app.ack(now, a) else "no_active_alarm"


def _bg(app, now, a, b, source, confirm_on_pump):
    app.therapy.add_bg(now, a, b)
    return None


def _wizard(app, now, a, b, source, confirm_on_pump):
    """A proposal is always offered on the pump, whoever asked (CAL-1)."""
    therapy = app.therapy
    if b:
        therapy.add_bg(now, b, glucose.FINGER)
    return therapy.offer(now, therapy.propose(a, b), source)


def _prime(app, now, a, b, source, confirm_on_pump):
    """Insulin from off the pump starts only on the pump's long press, a prime too."""
    if confirm_on_pump:
        return app.button.offer(now, a, 0, source, prime=True)
    return app.delivery.request_prime(now, a, source)


def _set_changed(app, now, a, b, source, confirm_on_pump):
    app.therapy.set_changed(now)
    app.delivery.set_changed()  # its cannula may be primed, once (DEL-7)
    app.line.new_site(now)  # the detectors learn the new site (docs/detection.md)
    return None


TABLE = (
    ("bolus", _parse_bolus, _bolus),
    ("cancel_bolus", _no_args, _cancel_bolus),
    ("temp_basal", _parse_temp, _temp),
    ("cancel_temp", _no_args, _cancel_temp),
    ("suspend", _no_args, _suspend),
    ("resume", _no_args, _resume),
    ("set_profile", _parse_profile, _set_profile),
    ("ack", _parse_ack, _ack),
    ("planned_disconnect", _parse_planned, _planned_disconnect),
    ("planned_reconnect", _no_args, _planned_reconnect),
    ("bg", _parse_bg, _bg),
    ("cgm", _parse_cgm, _bg),
    ("wizard", _parse_wizard, _wizard),
    ("set_changed", _no_args, _set_changed),
    ("prime", _parse_prime, _prime),
)
NAMES = tuple([row[0] for row in TABLE])


def _row(name):
    for row in TABLE:
        if row[0] == name:
            return row
    return None


def parse(name, args, where="command"):
    """(name, a, b) with integer (or parsed-object) arguments, or InputError."""
    row = _row(name)
    if row is None:
        raise InputError(where, "unknown command %r (known: %s)" % (name, ", ".join(NAMES)))
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InputError(where + ".args", "expected an object")
    a, b = row[1](args, where + ".args")
    return (name, a, b)


def execute(app, now, command, source, confirm_on_pump=False):
    """Apply a parsed command at ``now``; None if accepted, else the reason.

    ``confirm_on_pump``: a bolus is only offered; it starts when the user confirms it on
    the pump (the serial link uses this: nothing off the pump starts insulin alone)."""
    name, a, b = command
    row = _row(name)
    reason = "unknown_command" if row is None else row[2](app, now, a, b, source, confirm_on_pump)
    app.log.emit("command", "name=%s src=%s result=%s" % (name, source, reason or "ok"))
    return reason
