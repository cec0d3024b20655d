# Not a file on any board: boards/emu/vboot.py puts its VboardConfig in sys.modules["vboard"]
# when the firmware runs behind `pumpctl vboard`; main.py imports it to tell.
from typing import Any

image: str
mode: str
speed: int | float
scenario: Any
trace: Any
