"""User feedback: beeps and the LED, each logged so a run shows what the user heard."""

# pattern -> (frequency Hz, ms); the board plays it, the log records it
PATTERNS = {
    "step": (2000, 60),
    "confirm": (2500, 300),
    "cancel": (1000, 300),
    "error": (400, 500),
    "done": (2500, 120),
}


class Feedback:
    def __init__(self, buzzer, led, log):
        self.buzzer = buzzer
        self.led = led
        self.log = log

    def beep(self, pattern, detail=""):
        freq, ms = PATTERNS[pattern]
        self.buzzer.tone(freq, ms)
        self.log.emit("beep", "pattern=%s%s" % (pattern, " " + detail if detail else ""))
