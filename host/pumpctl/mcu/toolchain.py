"""The cross toolchain and emulator the MCU target needs, as Debian packages."""

from __future__ import annotations

import shutil
import subprocess

from pumpctl.errors import PumpctlError

PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")
INSTALL_LINE = "sudo apt-get install " + " ".join(PACKAGES)
GCC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"


class MissingToolchain(PumpctlError):
    """The ARM toolchain or qemu is not installed: names the Debian packages to install."""


def missing_packages() -> list[str]:
    """The Debian packages (of PACKAGES) whose tools are not usable here."""
    missing = []
    gcc = shutil.which(GCC)
    if gcc is None:
        missing.append("gcc-arm-none-eabi")
    if gcc is None or not _has_newlib(gcc):
        missing.append("libnewlib-arm-none-eabi")
    if shutil.which(QEMU) is None:
        missing.append("qemu-system-arm")
    return missing


def _has_newlib(gcc: str) -> bool:
    """True when the cross compiler finds newlib's C library (it prints a bare name if not)."""
    result = subprocess.run(
        [gcc, "-mcpu=cortex-m3", "-mthumb", "-print-file-name=libc.a"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and "/" in result.stdout.strip()


def require() -> None:
    """Raise MissingToolchain naming what to install when a package is missing."""
    missing = missing_packages()
    if missing:
        raise MissingToolchain(
            "the MCU target needs the Debian packages "
            + ", ".join(missing)
            + f" (missing); install them with: {INSTALL_LINE}"
        )
