"""Reminders (REM-1): infusion-set change, reservoir time left, BG check after a bolus.

Each reminder is a low-priority alarm (pump/alarms.py), so it escalates while
nobody acknowledges it and re-arms while its cause stands (ALM-1):
- ``set_change``: the set has been in for ``set_change_days`` (2 or 3) days;
  the ``set_changed`` command starts the count again;
- ``reservoir_time``: less than a day of insulin left at the current rates
  (the larger of the basal rate now and the last 24 h's average), a day before
  the reservoir_low alert and the empty alarm;
- ``bg_check``: ``bg_check_after_bolus_min`` after a bolus ended with no BG
  reading since (0, the default, turns it off; a CGM stream satisfies it by
  itself); a reading clears it.
"""

from pump.compat import const, micropython

KINDS = ("set_change", "reservoir_time", "bg_check")
_DAY_S = const(86400)
RESERVOIR_REMIND_MIN = const(24 * 60)


class Reminders:
    def __init__(self, settings):
        self.settings = settings
        self.set_changed_s = 0  # therapy s when the set was last changed
        self.bg_due_s = 0  # therapy s when a BG check falls due; 0: none pending
        self._bolus_seen = False  # a bolus was running at the last tick

    @micropython.native  # every second (pump/therapy.py)
    def bolus_tick(self, now_s, running):
        """Start the BG-check count when a bolus ends. True if the due time changed."""
        ended = self._bolus_seen and not running
        self._bolus_seen = running
        overdue = self.bg_due_s and now_s >= self.bg_due_s  # stays due until a reading
        if ended and self.settings.bg_check_min and not overdue:
            self.bg_due_s = now_s + self.settings.bg_check_min * 60
            return True
        return False

    def bg_reading(self):
        """A BG reading satisfies the pending check. True if one was pending."""
        pending = self.bg_due_s != 0
        self.bg_due_s = 0
        return pending

    @micropython.native  # every second (pump/therapy.py)
    def causes(self, now_s, delivery):
        """Bit i set when reminder KINDS[i] is due now."""
        out = 0
        if now_s - self.set_changed_s >= self.settings.set_change_days * _DAY_S:
            out |= 1
        left = minutes_left(delivery)
        if 0 <= left < RESERVOIR_REMIND_MIN:
            out |= 2
        if self.bg_due_s and now_s >= self.bg_due_s:
            out |= 4
        return out


@micropython.native
def minutes_left(delivery):
    """Minutes of insulin left at the larger of the basal rate now and the last 24 h's
    average use (-1 when nothing is being used)."""
    per_h = delivery.rate
    day_avg = delivery.totals.day // 24
    if day_avg > per_h:
        per_h = day_avg
    if per_h <= 0:
        return -1
    return delivery.reservoir * 60 // per_h
