"""Helpers for tests on the emulated Cortex-M3 (MicroPython qemu port, pumpctl.mcu).

Without the ARM toolchain and qemu the MCU tests skip, naming the Debian packages; with
PUMP_REQUIRE_MCU=1 (CI) a missing package fails them instead.
"""

from __future__ import annotations

import os

import pytest
from pumpctl.mcu import toolchain
from pumpctl.mcu.build import Builder, parse_heap
from pumpctl.mcu.run import McuRun, run_scenario
from pumpctl.mcu.source import SourceError

REQUIRED = os.environ.get("PUMP_REQUIRE_MCU") == "1"
RUN_TIMEOUT_S = 900


def builder() -> Builder:
    """A Builder for the MCU target, or skip (fail when required) naming what is missing."""
    missing = toolchain.missing_packages()
    if missing:
        _unavailable(
            "the MCU target needs the Debian packages " + ", ".join(missing)
            + f" ({toolchain.INSTALL_LINE})"
        )  # fmt: skip
    try:
        return Builder()
    except SourceError as e:  # no snapshot beside the repository and no network
        _unavailable(str(e))
        raise


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(reason + "; PUMP_REQUIRE_MCU=1 makes it required")
    pytest.skip(reason)


def run_on_mcu(b: Builder, raw: dict, heap: str = "64K", romfs: bool = False) -> McuRun:
    return run_scenario(raw, parse_heap(heap), b, timeout=RUN_TIMEOUT_S, romfs=romfs)
