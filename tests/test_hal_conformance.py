"""Every board, emulated or real, implements every method of every HAL driver.

The checker itself is tested both ways: boards with a missing method, a
missing driver or an un-overridden ``emit`` must fail it.
"""

import io
from pathlib import Path

import pytest
from boards import hal
from boards.drivers.board import HardwareBoard
from standin_hw import board_module

REPO = Path(__file__).resolve().parent.parent
REAL_BOARDS = ("rp2_pico", "esp32_devkit", "stm32_pyboard")


def hal_methods(cls):
    """Public methods the HAL class declares (what a driver must override)."""
    return sorted(name for name, value in vars(cls).items()
                  if callable(value) and not name.startswith("_"))


def hal_gaps(board):
    """Everything ``board`` fails to implement, as 'slot.method' strings (empty: conformant)."""
    gaps = []
    if type(board).emit is hal.Board.emit:
        gaps.append("board.emit")
    for slot, cls in hal.DRIVERS:
        driver = getattr(board, slot, None)
        if not isinstance(driver, cls):
            gaps.append(f"{slot} (not a hal.{cls.__name__}: {type(driver).__name__})")
            continue
        for name in hal_methods(cls):
            if getattr(type(driver), name) is getattr(cls, name):
                gaps.append(f"{slot}.{name}")
    return gaps


def test_hal_declares_methods_for_every_driver():
    # Guards the checker: a HAL class with nothing to override would make it vacuous.
    for _, cls in hal.DRIVERS:
        assert hal_methods(cls), cls.__name__


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_implements_whole_hal(name):
    with board_module(name) as module:
        board = module.make_board()
        assert board.name == module.NAME
        assert hal_gaps(board) == []


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_with_i2c_pressure_implements_whole_hal(name):
    with board_module(name) as module:
        assert hal_gaps(module.make_board(pressure="mcp3221")) == []


def test_real_board_rejects_unknown_pressure_source():
    with board_module("rp2_pico") as module, pytest.raises(ValueError, match="pressure must be"):
        module.make_board(pressure="spi")


def test_emulated_board_implements_whole_hal():
    from boards.emu import plant, scenario
    from boards.emu.board import EmuBoard

    loaded = scenario.load(str(REPO / "scenarios" / "default.json"), plant.FAULTS)
    assert hal_gaps(EmuBoard(loaded, io.StringIO())) == []


class _Motor(hal.Motor):
    """A motor driver that forgot ``retract``."""

    def pulse(self):
        pass

    def position(self):
        return 0


class _Complete:
    """Minimal complete drivers, to build boards that differ in one place only."""

    @staticmethod
    def drivers():
        out = {}
        for slot, cls in hal.DRIVERS:
            methods = {name: (lambda self, *a: 0) for name in hal_methods(cls)}
            out[slot] = type("Full" + cls.__name__, (cls,), methods)()
        return out


def _board(**override):
    drivers = _Complete.drivers()
    drivers.update(override)
    return HardwareBoard("test", {}, "power_on", **drivers)


def test_checker_passes_a_complete_board():
    assert hal_gaps(_board()) == []


def test_checker_fails_a_board_missing_a_method():
    assert hal_gaps(_board(motor=_Motor())) == ["motor.retract"]


def test_checker_fails_a_board_missing_a_driver():
    assert hal_gaps(_board(buzzer=None)) == ["buzzer (not a hal.Buzzer: NoneType)"]


def test_checker_fails_a_board_without_emit():
    class NoEmit(hal.Board):
        pass

    board = NoEmit()
    for slot, driver in _Complete.drivers().items():
        setattr(board, slot, driver)
    assert hal_gaps(board) == ["board.emit"]
