"""Every board (real, qemu, emulated) implements everything the HAL declares.

That is every method of every driver, the motor's ``steps_per_pulse``, and
what the boot path uses on the board itself: ``storage()``, ``emit``,
``boot_reason``, ``storage_safe``, ``collect_in_idle``, ``event_sink``. The checker itself is
tested both ways: boards with a missing method, a missing driver, no steps
per pulse or an un-overridden ``emit`` / ``storage`` must fail it.
"""

import io
from pathlib import Path

import pytest
from boards import device, hal
from boards.drivers.board import HardwareBoard
from standin_hw import board_module

REPO = Path(__file__).resolve().parent.parent
REAL_BOARDS = ("rp2_pico", "esp32_devkit", "stm32_pyboard")


def hal_methods(cls):
    """Public methods the HAL class declares (what a driver must override)."""
    return sorted(
        name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")
    )


BOARD_METHODS = ("emit", "storage")
BOARD_FACTS = {
    "boot_reason": str, "storage_safe": bool, "storage_root": str, "collect_in_idle": bool,
}  # fmt: skip


def hal_gaps(board):
    """Everything ``board`` fails to implement, as 'slot.method' strings (empty: conformant)."""
    gaps = []
    for name in BOARD_METHODS:
        if getattr(type(board), name) is getattr(hal.Board, name):
            gaps.append("board." + name)
    for name, kind in BOARD_FACTS.items():
        if not isinstance(getattr(board, name, None), kind):
            gaps.append(f"board.{name} (not a {kind.__name__})")
    if not hasattr(board, "event_sink"):
        gaps.append("board.event_sink")
    spp = getattr(board.motor, "steps_per_pulse", 0)
    if not isinstance(spp, int) or spp < 1:
        gaps.append("motor.steps_per_pulse")
    push = getattr(board.motor, "push_ms", None)
    if not isinstance(push, int) or push < 0:
        gaps.append("motor.push_ms")
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


def test_hal_declares_what_the_boot_path_uses():
    for name in ("watch", "feed"):
        assert callable(getattr(hal.Watchdog, name))
    for name in BOARD_METHODS:
        assert callable(getattr(hal.Board, name))
    for name in (*BOARD_FACTS, "event_sink"):
        assert hasattr(hal.Board, name)
    assert hasattr(hal.Motor, "steps_per_pulse") and hasattr(hal.Link, "connected")


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_implements_whole_hal(name):
    with board_module(name) as module:
        board = device.make_board(module)
        assert board.name == module.NAME
        assert hal_gaps(board) == []
        assert board.collect_in_idle  # MicroPython on a microcontroller: no GC inside a task


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_with_i2c_pressure_implements_whole_hal(name):
    with board_module(name) as module:
        assert hal_gaps(device.make_board(module, pressure="mcp3221")) == []


def test_real_board_rejects_unknown_pressure_source():
    with board_module("rp2_pico") as module, pytest.raises(ValueError, match="pressure must be"):
        device.make_board(module, pressure="spi")


def test_qemu_board_implements_whole_hal():
    from boards.emu import qemu

    board = qemu.make_board(link=_Complete.drivers()["link"])
    assert board.name == "qemu" and board.link.connected
    assert hal_gaps(board) == []


def test_emulated_board_implements_whole_hal():
    from boards.emu import plant, scenario
    from boards.emu.board import EmuBoard

    loaded = scenario.load(str(REPO / "scenarios" / "default.json"), plant.FAULTS)
    assert hal_gaps(EmuBoard(loaded, io.StringIO())) == []


class _Motor(hal.Motor):
    """A motor driver that forgot ``retract``."""

    steps_per_pulse = 8

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
            if cls is hal.Motor:
                methods["steps_per_pulse"] = 8
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


def test_checker_fails_a_motor_without_steps_per_pulse():
    motor = _Complete.drivers()["motor"]
    motor.steps_per_pulse = 0
    assert hal_gaps(_board(motor=motor)) == ["motor.steps_per_pulse"]


def test_checker_fails_a_board_missing_a_driver():
    assert hal_gaps(_board(buzzer=None)) == ["buzzer (not a hal.Buzzer: NoneType)"]


def test_checker_fails_a_board_without_emit():
    class NoEmit(hal.Board):
        pass

    board = NoEmit()
    for slot, driver in _Complete.drivers().items():
        setattr(board, slot, driver)
    assert hal_gaps(board) == ["board.emit", "board.storage"]
