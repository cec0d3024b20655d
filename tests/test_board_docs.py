"""docs/boards.md wiring tables match the PINS maps in the board modules (no drift)."""

from pathlib import Path

import pytest
from standin_hw import board_module

DOC = Path(__file__).resolve().parent.parent / "docs" / "boards.md"
SECTIONS = {"rp2_pico": "## RP2040 Pico", "esp32_devkit": "## ESP32 DevKit",
            "stm32_pyboard": "## STM32 pyboard"}


def wiring_table(heading):
    """{PINS key: PINS value} from the first table under ``heading``."""
    text = DOC.read_text()
    section = text[text.index(heading):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].startswith("`") and cells[1].endswith("`"):
            rows[cells[1].strip("`")] = cells[2]
    return rows


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_wiring_table_matches_pin_map(name):
    with board_module(name) as module:
        pins = {key: str(value) for key, value in module.PINS.items()}
    assert wiring_table(SECTIONS[name]) == pins
