"""Process-kill fault injection (REL-1): the host SIGKILLs this process at a random instant.

Runs INSIDE the MicroPython Unix port:
    micropython kill_run.py FIRMWARE_DIR IMAGE run SCENARIO   run with the journal on the
        littlefs2 image, printing every pulse event as it happens (stdout is unbuffered)
    micropython kill_run.py FIRMWARE_DIR IMAGE check          boot from the image's journal
        and print `journal pulses=N bolus_active=B`
The host compares the pulses it saw before the kill with what the journal kept.
"""

import sys

sys.path.insert(0, sys.argv[1])

import vfs

from boards.emu import plant
from boards.emu.blockdev import FileBlockDevice, create_image
from boards.emu.board import EmuBoard
from boards.emu.clock import EndOfRun
from boards.emu.runner import ScenarioDriver, boot
from boards.emu.scenario import load
from pump.filestore import FileStore
from pump.journal import Journal

MOUNT = "/flash"


class PulseOut:
    """Event sink: pulse lines straight to stdout, the rest dropped."""

    def write(self, line):
        if " pulse " in line:
            sys.stdout.write(line)
        return len(line)


def mount(image, fresh):
    if fresh:
        create_image(image, 64 * 4096)
    dev = FileBlockDevice(open(image, "r+b"))
    if fresh:
        vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), MOUNT)


def main():
    image, mode = sys.argv[2], sys.argv[3]
    if mode == "run":
        scenario = load(sys.argv[4], plant.FAULTS)
        mount(image, True)
        board = EmuBoard(scenario, PulseOut())
        board.flash = FileStore(MOUNT)
        print("ready")
        app = boot(board, scenario, ScenarioDriver(board, scenario.actions), "power_on")
        try:
            app.sched.run()
        except EndOfRun:
            print("finished")
    else:
        mount(image, False)
        state = Journal(FileStore(MOUNT)).load()
        print(
            "journal pulses=%d bolus_active=%d"
            % (state.basal_pulses + state.bolus_pulses, state.bolus_active)
        )


main()
