"""Boot ROM of the emulated board: run by the Unix port as ``micropython -i vboot.py``.

It does what a board's C ``main()`` does before the REPL: mount the flash
(a littlefs2 image through ``blockdev.FileBlockDevice``) at ``/`` in place of
the host filesystem, run ``boot.py``, then ``main.py`` unless this is a
raw-REPL soft reset, and fall through to the REPL (``-i``). The host-side
relay (``pumpctl vboard``) restarts this process on every soft reset.

argv: IMAGE MODE [key=value ...] where MODE is ``friendly`` or ``raw`` and the
pairs become attributes of the ``vboard`` module the emulated board reads
(``speed``, ``scenario``, ``trace``: file paths are opened here, before the
host filesystem disappears, and passed on as open files).
"""

import sys

import vfs
from blockdev import FileBlockDevice
from replmark import READY_MARK  # written once the REPL is next (the relay swallows it)

_FILE_KEYS = ("scenario", "trace")


class VboardConfig:
    """What the emulator tells the emulated board (importable as ``vboard``)."""

    def __init__(self, image, mode):
        self.image = image
        self.mode = mode
        self.speed = 1
        self.scenario = None
        self.trace = None


def _parse_args(argv):
    cfg = VboardConfig(argv[1], argv[2])
    for pair in argv[3:]:
        key, _, value = pair.partition("=")
        if key in _FILE_KEYS:
            value = open(value, "rb" if key == "trace" else "r")
        elif key == "speed":
            value = float(value) if "." in value else int(value)
        setattr(cfg, key, value)
    return cfg


def _mount(image):
    bdev = FileBlockDevice(open(image, "r+b"))
    try:
        fs = vfs.VfsLfs2(bdev)
    except OSError:  # blank or corrupt: format, as a board does on first boot
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev)
    vfs.umount("/")
    vfs.mount(fs, "/")
    sys.atexit(_unmount)


def _unmount():
    # A board's soft reset finalises open files before it unmounts, so data
    # written to a file nobody closed still reaches the flash. Do the same
    # on the way out of the Unix port.
    try:
        import gc

        import vfs

        gc.collect()
        vfs.umount("/")
    except Exception as e:
        print("vboot: unmount at reset failed:", repr(e))


def _run(name):
    import os

    try:
        os.stat(name)
    except OSError:
        return
    try:
        with open(name) as f:
            source = f.read()
        exec(compile(source, name, "exec"), {"__name__": "__main__"})
    except SystemExit:
        pass
    except BaseException as e:  # a board prints the error and carries on to the REPL
        sys.print_exception(e)


def boot(argv):
    cfg = _parse_args(argv)
    _mount(cfg.image)
    import os

    os.chdir("/")
    sys.path[:] = ["", "/lib"]
    sys.modules["vboard"] = cfg
    for name in ("blockdev", "replmark", "vboot"):
        sys.modules.pop(name, None)  # the board's own flash may ship modules of that name
    _run("boot.py")
    if cfg.mode == "friendly":
        _run("main.py")
    sys.stdout.buffer.write(READY_MARK)


boot(sys.argv)
# Leave the REPL namespace as empty as a board's.
for _name in list(globals()):
    if _name != "__name__":
        del globals()[_name]
del _name
