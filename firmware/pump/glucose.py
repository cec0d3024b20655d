"""Blood glucose on the pump (BG-1): readings, units, trend and the glucose alarms.

Readings come from a finger stick (button menu, host command) or a CGM stream
(a host command every 5 min, a trace column, a scenario action). Inside they
are integer mg/dL with a time in therapy seconds (pump/therapy.py) and a
source, kept in a bounded ring. mmol/L is accepted at the edge and shown where
the user chose it: 1 mmol/L = 18.016 mg/dL, converted in integers.

Alarms (ALM-1, in pump/alarms.py): ``bg_low`` below the settable low
threshold, ``bg_urgent_low`` below 55 mg/dL (high priority: it holds insulin
like any high-priority alarm, DEL-5), ``bg_high`` above the settable high
threshold, ``cgm_stale`` when a CGM stream has gone 20 min without a reading.
"""

from array import array

from pump.compat import const, micropython
from pump.units import InputError, to_int, to_milli

MIN_MGDL = const(20)  # what meters and CGMs report (below: "LO", above: "HI")
MAX_MGDL = const(600)
URGENT_LOW_MGDL = const(55)
STALE_S = const(20 * 60)
MGDL_PER_MMOL_X1000 = const(18016)
SOURCES = ("finger", "cgm")
FINGER = const(0)
CGM = const(1)
UNITS = ("mg/dL", "mmol/L")
RING = const(48)  # 4 h of a 5-min CGM stream
_TREND_S = const(15 * 60)  # the trend compares with the reading about 15 min back
# trend words by mg/dL per minute, CGM-style arrows: >= 3, >= 2, >= 1, > -1, > -2, > -3, else
TRENDS = ("up3", "up2", "up1", "flat", "down1", "down2", "down3")


def mgdl_from_mmol(milli_mmol):
    """mg/dL (rounded) from thousandths of mmol/L."""
    return (milli_mmol * MGDL_PER_MMOL_X1000 + 500000) // 1000000


def mmol_tenths(mgdl):
    """mmol/L in tenths (rounded) from mg/dL, for display."""
    return (mgdl * 10000 + MGDL_PER_MMOL_X1000 // 2) // MGDL_PER_MMOL_X1000


def show(mgdl, unit):
    """``mgdl`` as the user reads it: '142' (mg/dL) or '7.9' (mmol/L)."""
    if unit == "mmol/L":
        tenths = mmol_tenths(mgdl)
        return "%d.%d" % (tenths // 10, tenths % 10)
    return "%d" % mgdl


def parse_value(args, where):
    """mg/dL from ``{"mgdl": int}`` or ``{"mmol": number}``; InputError naming the field."""
    if ("mgdl" in args) == ("mmol" in args):
        raise InputError(where, "give exactly one of mgdl and mmol")
    unit = "mgdl" if "mgdl" in args else "mmol"
    return parse_one(args[unit], unit, where + "." + unit)


def parse_one(value, unit, where):
    """mg/dL from one reading in ``unit`` (mgdl: an integer; mmol: a number)."""
    if unit == "mgdl":
        return to_int(value, where, MIN_MGDL, MAX_MGDL)
    # 1.1..33.3 mmol/L is 20..600 mg/dL once rounded
    return mgdl_from_mmol(to_milli(value, where, 1.1, 33.3))


def parse_source(value, where):
    if value not in SOURCES:
        raise InputError(where, "expected one of %s, got %r" % (", ".join(SOURCES), value))
    return SOURCES.index(value)


class Glucose:
    """The last RING readings, oldest overwritten first, and the alarm causes they give."""

    def __init__(self, settings):
        self.settings = settings
        self.times = array("i", bytes(4 * RING))  # therapy seconds
        self.values = array("H", bytes(2 * RING))  # mg/dL
        self.sources = bytearray(RING)
        self.count = 0  # readings ever added (the ring holds the last RING)
        self.last_cgm_s = -1  # therapy s of the newest CGM reading; -1: no CGM stream seen

    def add(self, t_s, mgdl, source):
        i = self.count % RING
        self.times[i] = t_s
        self.values[i] = mgdl
        self.sources[i] = source
        self.count += 1
        if source == CGM:
            self.last_cgm_s = t_s

    @micropython.native  # every second (pump/therapy.py)
    def latest(self):
        """Index in the ring of the newest reading, or -1."""
        return (self.count - 1) % RING if self.count else -1

    def latest_mgdl(self, now_s, max_age_s):
        """The newest reading if it is at most ``max_age_s`` old, else 0."""
        i = self.latest()
        if i < 0 or now_s - self.times[i] > max_age_s:
            return 0
        return self.values[i]

    def trend(self):
        """Trend word from the CGM readings of the last 15 min ('' if too few)."""
        i = self.latest()
        if i < 0 or self.sources[i] != CGM:
            return ""
        t_new = self.times[i]
        n = self.count if self.count < RING else RING
        best = -1
        for back in range(1, n):
            j = (i - back) % RING
            age = t_new - self.times[j]
            if age > _TREND_S + 150:
                break
            if self.sources[j] == CGM and age >= 240:
                best = j
        if best < 0:
            return ""
        minutes_x10 = (t_new - self.times[best]) // 6
        per_min_x10 = (self.values[i] - self.values[best]) * 100 // minutes_x10
        k = 0
        for limit in (30, 20, 10, -9, -19, -29):
            if per_min_x10 >= limit:
                break
            k += 1
        return TRENDS[k]

    @micropython.native  # every second (pump/therapy.py)
    def causes(self, now_s):
        """Bit set of standing alarm causes: 1 low, 2 urgent low, 4 high, 8 stale CGM."""
        i = self.latest()
        out = 0
        if i >= 0:
            v = self.values[i]
            s = self.settings
            if v < s.bg_low:
                out |= 1
            if v < URGENT_LOW_MGDL:
                out |= 2
            if v > s.bg_high:
                out |= 4
        if self.last_cgm_s >= 0 and now_s - self.last_cgm_s >= STALE_S:
            out |= 8
        return out


ALARM_KINDS = ("bg_low", "bg_urgent_low", "bg_high", "cgm_stale")  # bit i of causes()
