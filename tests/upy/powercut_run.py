"""Power-cut fault injection on the emulated board's real littlefs2 flash (REL-1).

Runs INSIDE the MicroPython Unix port (vfs.VfsLfs2 is a MicroPython module):
    micropython powercut_run.py FIRMWARE_DIR SCENARIO IMAGE CUTS SEED
For each of CUTS cut points (a block write or erase chosen at random among all
the writes the run makes; seeded), it formats a fresh image, runs the firmware
with its journal on littlefs until the device loses power at that write (the
block is left torn: half new data, half old), then powers up again: remounts
the image (littlefs recovers) and boots a new app from the journal. It checks
that the journal's delivered pulses equal the pulses the motor really made,
or exceed them by exactly one when the cut fell between the write-ahead
commit and the motor step; that a bolus cut short is never resumed; and that
the pump keeps delivering afterwards. Prints one result line per cut and a
final `powercut cuts=N failures=F` line.
"""

import sys

sys.path.insert(0, sys.argv[1])

import vfs  # noqa: E402

from boards.emu import plant  # noqa: E402
from boards.emu.blockdev import FileBlockDevice, create_image  # noqa: E402
from boards.emu.board import EmuBoard  # noqa: E402
from boards.emu.clock import EndOfRun  # noqa: E402
from boards.emu.rng import XorShift32  # noqa: E402
from boards.emu.runner import ScenarioDriver, boot  # noqa: E402
from boards.emu.scenario import load  # noqa: E402
from pump.filestore import FileStore  # noqa: E402

MOUNT = "/flash"
IMAGE_BYTES = 64 * 4096
_ERASE = 6


class PowerCut(Exception):
    pass


class CuttingDevice(FileBlockDevice):
    """A flash chip that loses power at its ``cut_at``-th write or erase (0: never)."""

    def __init__(self, f, cut_at):
        FileBlockDevice.__init__(self, f)
        self.cut_at = cut_at
        self.writes = 0

    def _tick(self):
        self.writes += 1
        return self.writes == self.cut_at

    def writeblocks(self, block, buf, offset=None):
        if self._tick():
            half = len(buf) // 2  # a torn program: the first half landed
            FileBlockDevice.writeblocks(self, block, memoryview(buf)[:half], offset or 0)
            self.f.flush()
            raise PowerCut()
        FileBlockDevice.writeblocks(self, block, buf, offset)

    def ioctl(self, op, arg):
        if op == _ERASE and self._tick():
            half = self.block_size // 2  # a torn erase: half the sector is blank
            self.f.seek(arg * self.block_size)
            self.f.write(b"\xff" * half)
            self.f.flush()
            raise PowerCut()
        return FileBlockDevice.ioctl(self, op, arg)


class Null:
    def write(self, text):
        return len(text)


def mount(image, cut_at, fresh):
    f = open(image, "r+b")
    dev = CuttingDevice(f, 0)
    if fresh:
        vfs.VfsLfs2.mkfs(dev)  # the factory format is not part of the run
        dev.writes = 0
    dev.cut_at = cut_at
    vfs.mount(vfs.VfsLfs2(dev), MOUNT)
    return f, dev


def unmount(f):
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass
    f.close()


def run_once(scenario, image, cut_at):
    """(motor pulses at the cut, journal pulses after recovery, bolus resumed?, accounting drift
    in pulses over the 30 min after recovery, writes, cut happened)."""
    create_image(image, IMAGE_BYTES)
    f, dev = mount(image, cut_at, True)
    board = EmuBoard(scenario, Null())
    board.flash = FileStore(MOUNT)
    driver = ScenarioDriver(board, scenario.actions)
    cut = False
    try:
        app = boot(board, scenario, driver, "power_on")
        app.sched.run()
    except PowerCut:
        cut = True
    except EndOfRun:
        pass
    writes = dev.writes
    unmount(f)
    if not cut:
        return board.motor.pulses, board.motor.pulses, False, 0, writes, False
    # power comes back: remount (littlefs recovers) and boot from the journal
    f, dev = mount(image, 0, False)
    pulses_at_cut = board.motor.pulses
    app = boot(board, scenario, driver, "power_cut")
    d = app.delivery
    recorded = (d.basal_given + d.bolus_given) // scenario.settings.pulse
    resumed = d.bolus is not None
    board.clock.end = board.clock.now + 1800000  # and it keeps delivering for 30 min
    try:
        app.sched.run()
    except EndOfRun:
        pass
    d = app.delivery
    after = (d.basal_given + d.bolus_given) // scenario.settings.pulse
    unmount(f)
    # pulses the motor gave after recovery that the accounting does not show (or the reverse)
    drift = (board.motor.pulses - pulses_at_cut) - (after - recorded)
    return pulses_at_cut, recorded, resumed, drift, writes, True


def main():
    fw, scenario_path, image, cuts, seed = sys.argv[1:6]
    scenario = load(scenario_path, plant.FAULTS)
    total = run_once(scenario, image, 0)[4]
    rng = XorShift32(int(seed))
    failures = 0
    for _ in range(int(cuts)):
        cut_at = 1 + rng.below(total)
        motor, recorded, resumed, drift, _, cut = run_once(scenario, image, cut_at)
        ok = cut and not resumed and drift == 0 and recorded in (motor, motor + 1)
        failures += 0 if ok else 1
        print(
            "cut=%d motor=%d journal=%d resumed=%d drift=%d %s"
            % (cut_at, motor, recorded, resumed, drift, "ok" if ok else "FAIL")
        )
    print("powercut cuts=%d writes=%d failures=%d" % (int(cuts), total, failures))


main()
