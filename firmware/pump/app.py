"""The application: builds every part from a board and runs them as scheduler tasks.

Two periodic tasks carry the pump:
- ``control`` (100 ms): sample the line pressure into a ring, read the button,
  run the extension hooks (detectors, serial protocol), settle delivery.
- ``supervisor`` (1 s): alarm escalation and re-arm, battery, alarm tones.
The app never imports hardware: everything comes in through ``board``.
"""

from pump.alarms import JOURNAL_BITS, Alarms
from pump.button import ButtonBolus
from pump.compat import const, micropython, ptr16, zeros
from pump.delivery import Delivery
from pump.events import EventLog
from pump.feedback import Feedback
from pump.journal import Corrupt
from pump.linetask import LineTask
from pump.sched import Scheduler, Task
from pump.therapy import ALARM_KINDS as THERAPY_ALARMS
from pump.therapy import Therapy
from pump.uptime import Uptime
from pump.version import VERSION

CONTROL_MS = const(100)
_IDLE = const(0)  # pump.button.IDLE (viper code: a const here)
_HALF = const(0x20000000)  # pump.ticks
_MASK = const(0x3FFFFFFF)
SUPERVISOR_MS = const(1000)
PRESSURE_RING = const(600)  # 60 s of 10 Hz samples
BATTERY_EVERY = const(10)  # supervisor ticks between battery reads
_BATTERY_HYSTERESIS_MV = const(50)
# alarm tone per priority index (none, low, medium, high): frequency Hz, ms
_ALARM_TONES = ((0, 0), (800, 100), (1200, 200), (2000, 400))
# alarms whose cause the firmware re-measures by itself after a reboot (reservoir, battery)
_RECHECKED_AT_BOOT = (
    "reservoir_empty", "reservoir_low", "battery_low", "battery_empty",
) + THERAPY_ALARMS  # glucose and reminders: pump/therapy.py judges them again from its rings
# fmt: skip


class App:
    def __init__(
        self,
        board,
        settings,
        profile,
        time_of_day_ms=0,
        journal=None,
        uptime_ms=0,
        settings_problem=None,
    ):
        self.board = board
        self.settings = settings
        self.settings_problem = settings_problem  # from pump.settings.load_settings
        self.journal = journal
        self.uptime = Uptime(time_of_day_ms)
        self.uptime.advance(uptime_ms)  # the emulator keeps one timeline across reboots
        self.log = EventLog(board.emit, self.uptime)
        self.alarms = Alarms(self.log)
        self.delivery = Delivery(settings, profile, board.motor, self.alarms, self.log, self.uptime)
        self.feedback = Feedback(board.buzzer, board.led, self.log)
        self.therapy = Therapy(self)  # glucose, insulin on board, calculator, reminders
        self.button = ButtonBolus(settings, self.delivery, self.feedback, self.log, self.therapy)
        self.pressure = zeros("H", PRESSURE_RING)
        self.pressure_index = 0  # where the next sample goes
        self.hooks = []  # callables(now) run every control tick, after sampling
        self.host = None  # the host link (pump.hostlink), when a host can be attached
        self.line = LineTask(self)  # occlusion, disconnect, leak, sensor (docs/detection.md)
        self.hooks.append(self.line.tick)
        self.sched = Scheduler(board.clock, self.uptime, self.log, board.watchdog)
        self.control_task = self.sched.add(Task("control", CONTROL_MS, self.control, budget_ms=20))
        self.supervisor_task = self.sched.add(
            Task("supervisor", SUPERVISOR_MS, self.supervise, budget_ms=20)
        )
        self._supervisor_ticks = 0

    # -- lifecycle ------------------------------------------------------------

    def boot(self, reason="power_on"):
        now = self.board.clock.ticks_ms()
        s = self.settings
        self.log.emit(
            "boot",
            "board=%s fw=%s pulse=%d reservoir=%d tod=%d reason=%s"
            % (self.board.name, VERSION, s.pulse, self.delivery.reservoir,
               self.uptime.time_of_day_ms(), reason),
        )  # fmt: skip
        if self.journal is not None:
            self._recover(now, reason)
        if self.settings_problem:
            self.log.emit("settings", "state=defaults reason=%s" % self.settings_problem)
            self.delivery.mode = "suspended"  # safe defaults until a person checks them
            self._one_shot_alarm("settings", now, "reason=%s" % self.settings_problem)
        self.delivery.start(now)
        self.sched.start()

    def _recover(self, now, reason):
        """REL-1: take over the journal, or fall back to safe defaults if it is corrupt."""
        journal = self.journal
        delivery = self.delivery
        try:
            state = journal.load()
        except Corrupt as e:
            self.log.emit("journal", "state=corrupt reason=%s" % e.code)
            journal.state.seq = 0
            delivery.mode = "suspended"  # safe default: nothing runs until a person checks
            self._one_shot_alarm("journal", now, "reason=%s" % e.code)
            state = None
        if state is not None:
            delivery.restore(state)
            for bit in range(len(JOURNAL_BITS)):
                if state.alarms >> bit & 1:
                    kind = JOURNAL_BITS[bit]
                    if kind in _RECHECKED_AT_BOOT:
                        self.alarms.raise_(kind, now, "restored=1")
                    else:
                        # its detector starts afresh and cannot clear a cause it did not see:
                        # hold delivery until acknowledged, then the detector judges anew
                        self._one_shot_alarm(kind, now, "restored=1")
            if state.temp:  # the basal now runs the profile again: the user must know
                self._one_shot_alarm("temp_lost", now)
        if reason == "watchdog":
            self._one_shot_alarm("watchdog", now)
        self.line.resync()
        self.therapy.recover()
        journal.state.boots += 1
        delivery.journal = journal
        delivery.persist()  # a bolus cut short is now closed on flash too
        journal.note(self.uptime.now_ms() // 60000, "boot", journal.state.boots)

    def run(self):
        """Boot and run forever (until ``sched.running`` is cleared)."""
        self.boot()
        self.sched.run()

    # -- tasks ------------------------------------------------------------------

    @micropython.viper
    def control(self, now: int):
        """The 100 ms control task: sample the line pressure into the ring, read the button,
        run the hooks (the line task first), settle delivery when it is due.

        A viper function (the ring written by pointer, the compares on machine ints); the
        same source runs as plain Python under CPython."""
        board = self.board
        i = int(self.pressure_index)
        ptr16(self.pressure)[i] = int(board.pressure.read_raw())  # a ring of "H"
        i += 1
        self.pressure_index = 0 if i == PRESSURE_RING else i
        pressed = board.button.pressed()
        button = self.button
        if pressed or button.held or int(button.state) != _IDLE:  # most ticks: nothing to do
            button.sample(now, pressed)
        for hook in self.hooks:  # a for over a list allocates nothing on MicroPython (measured)
            hook(now)
        delivery = self.delivery
        # settle only past its wake (pump/delivery.py), ticks_diff inlined: most ticks would
        # only integrate the rate, which the next settle does for the whole span at once
        # (``delivery.bolus``: None or a bolus object, never false while one runs)
        if delivery.bolus or ((now - int(delivery.wake) + _HALF) & _MASK) - _HALF >= 0:
            delivery.settle(now)

    def supervise(self, now):
        self.therapy.tick(now)
        alarms = self.alarms
        if alarms.records:  # most seconds: no alarm to escalate or annunciate
            alarms.tick(now)
        self._supervisor_ticks += 1
        if self._supervisor_ticks >= BATTERY_EVERY:
            self._supervisor_ticks = 0
            self.check_battery(now)
        urgent = alarms.most_urgent() if alarms.records else None
        if urgent is not None:
            freq, ms = _ALARM_TONES[urgent.priority]
            self.board.buzzer.tone(freq, ms)
            self.board.led.set(True)

    def check_battery(self, now):
        mv = self.board.battery.millivolts()
        s = self.settings
        if mv <= s.battery_empty_mv:
            self.raise_alarm("battery_empty", now, "mv=%d" % mv)
        elif mv > s.battery_empty_mv + _BATTERY_HYSTERESIS_MV:
            self.clear_alarm("battery_empty", now)
        if mv <= s.battery_low_mv:
            self.raise_alarm("battery_low", now, "mv=%d" % mv)
        elif mv > s.battery_low_mv + _BATTERY_HYSTERESIS_MV:
            self.clear_alarm("battery_low", now)

    # -- alarms and commands -------------------------------------------------------

    def _one_shot_alarm(self, kind, now, detail=""):
        """An alarm for something that happened (a reset, lost state): it has no standing
        cause to clear, but it blocks delivery until a person acknowledges it."""
        self.alarms.raise_(kind, now, detail)
        self.alarms.clear(kind, now)

    def raise_alarm(self, kind, now, detail=""):
        if not self.alarms.standing(kind):
            self.delivery.settle(now)
            self.alarms.raise_(kind, now, detail)
            self.delivery.refresh(now)
            self.delivery.persist()

    def clear_alarm(self, kind, now):
        if self.alarms.standing(kind):
            self.delivery.settle(now)
            self.alarms.clear(kind, now)
            self.delivery.refresh(now)
            self.delivery.persist()

    def ack(self, now, kind=None):
        self.delivery.settle(now)
        done = self.alarms.ack(kind, now)
        self.delivery.refresh(now)
        if self.alarms.most_urgent() is None:
            self.board.led.set(False)
        return done

    def finish(self, now):
        """Settle up to ``now`` and log the totals (end of an emulated run)."""
        d = self.delivery
        d.settle(now)
        self.log.emit(
            "end",
            "delivered=%d basal=%d bolus=%d reservoir=%d overruns=%d misses=%d"
            % (
                d.basal_given + d.bolus_given,
                d.basal_given,
                d.bolus_given,
                d.reservoir,
                sum([t.overruns for t in self.sched.tasks]),
                sum([t.misses for t in self.sched.tasks]),
            ),
        )
