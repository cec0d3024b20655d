"""The pinned MicroPython source: where it comes from and the key its builds are cached under.

In order: ``$MICROPY_SRC`` (a MicroPython tree at any commit; the user vouches for it), the
vendored snapshot ``shared/vendor/micropython-<commit>.tar.xz`` beside the repository (CI
copies ``shared/`` next to its clone), else the pinned commit fetched as a source archive.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pumpctl.errors import PumpctlError

COMMIT = "1c3c201149f37fe8d81246191b3127bb198d6306"
SNAPSHOT_NAME = f"micropython-{COMMIT[:8]}.tar.xz"
ARCHIVE_URL = f"https://github.com/micropython/micropython/archive/{COMMIT}.tar.gz"
FETCH_TIMEOUT_S = 60
# the parts of a tree the qemu port and mpy-cross are built from (for the MICROPY_SRC key)
BUILD_INPUTS = ("py", "extmod", "shared", "lib/libm", "lib/littlefs", "ports/qemu", "mpy-cross")


class SourceError(PumpctlError):
    """No usable MicroPython source."""


@dataclass(frozen=True)
class Source:
    """A MicroPython tree (``root``), how it was found, and the key its builds go under."""

    root: Path
    origin: str
    key: str


def find_snapshot(repo: Path) -> Path | None:
    """``shared/vendor/<snapshot>`` in the nearest ancestor of ``repo`` that has one."""
    for parent in repo.parents:
        candidate = parent / "shared" / "vendor" / SNAPSHOT_NAME
        if candidate.is_file():
            return candidate
    return None


def locate(repo: Path, cache: Path) -> Source:
    """The MicroPython source to build from, unpacking or fetching it under ``cache``."""
    env = os.environ.get("MICROPY_SRC")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / "py" / "mpconfig.h").is_file():
            raise SourceError(f"MICROPY_SRC={env}: not a MicroPython tree (no py/mpconfig.h)")
        return Source(root, f"MICROPY_SRC={root}", "src-" + _tree_key(root))
    snapshot = find_snapshot(repo)
    if snapshot is not None:
        key = "snap-" + _file_key(snapshot)
        root = cache / key / "micropython"
        if not (cache / key / ".unpacked").exists():
            _unpack(snapshot.read_bytes(), cache / key, "micropython/")
        return Source(root, f"snapshot {snapshot}", key)
    key = "commit-" + COMMIT[:12]
    root = cache / key / "micropython"
    if not (cache / key / ".unpacked").exists():
        _unpack(_fetch(), cache / key, f"micropython-{COMMIT}/")
    return Source(root, f"commit {COMMIT} (fetched)", key)


def _fetch() -> bytes:
    try:
        with urllib.request.urlopen(ARCHIVE_URL, timeout=FETCH_TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:
        raise SourceError(
            f"no MicroPython source: the snapshot shared/vendor/{SNAPSHOT_NAME} is not beside "
            f"the repository and fetching commit {COMMIT} from {ARCHIVE_URL} failed ({e}); "
            "set MICROPY_SRC to a MicroPython tree at that commit"
        ) from None


def _unpack(archive: bytes, dest: Path, prefix: str) -> None:
    """Unpack ``archive`` (members under ``prefix``) into ``dest``/micropython."""
    if dest.exists():
        shutil.rmtree(dest)
    staging = dest.with_name(dest.name + ".part")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise SourceError(f"the MicroPython archive has nothing under {prefix}")
        for m in members:
            m.name = "micropython/" + m.name[len(prefix) :]
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: refuse odd members
            tar.extractall(staging, members=members, filter="data")
        else:
            tar.extractall(staging, members=members)
    (staging / ".unpacked").touch()
    staging.rename(dest)


def _file_key(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _tree_key(root: Path) -> str:
    """A key that changes when any build input file under ``root`` changes (path, size, mtime)."""
    h = hashlib.sha256()
    for part in BUILD_INPUTS:
        for dirpath, dirnames, filenames in os.walk(root / part):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("build"))
            for name in sorted(filenames):
                st = os.stat(os.path.join(dirpath, name))
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]
