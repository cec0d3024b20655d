"""The emulated runner on a microcontroller: a scenario in over the UART, the event log out.

Runs on MicroPython's qemu port (Cortex-M3), where the firmware is in flash (ROMFS) and
there is no file system for a scenario file. The host (pumpctl/mcu) starts this in the raw
REPL with ``main(SIZE)`` and then sends SIZE bytes of scenario JSON on the UART. Events go
out as the Unix port writes them (raw bytes: the UART adds no CR), followed by one line
``mcu heap ...`` with the heap held after boot (bytes, after a collection):
- app: the application's modules and objects (what a real board would hold too);
- hw: the emulated hardware's (plant model, virtual clock: silicon on a real board);
- scenario: the parsed scenario (the emulated world's script);
- high: the most held during the run (sampled after a collection every SAMPLE_STEPS
  scheduler steps, in the clock's wait: a collection changes nothing the firmware sees);
- end: everything still held when the run ends; total: the heap's size.
"""

import gc
import json
import sys

SAMPLE_STEPS = 5000  # a collection costs about 1M instructions at 64 KB
# Room kept for the pump's boot while the scenario is parsed (a board has no script in its
# RAM): otherwise the script's kept objects land between the JSON parser's temporaries, and
# once those are freed a 64 KB heap has no hole left for the app's 1.2 KB rings
BOOT_ROOM = 4096


def _read_exactly(stream, size):
    chunks = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            raise OSError("scenario cut short on the UART")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks) if isinstance(chunks[0], bytes) else "".join(chunks)


def _held():
    gc.collect()
    return gc.mem_alloc()


def main(size):
    start = _held()
    from pump import app as _app  # noqa: F401  (the application's modules first)
    from pump import commands as _commands  # noqa: F401

    app_modules = _held()
    from boards.emu import plant as plant_model
    from boards.emu import runner
    from boards.emu.board import EmuBoard
    from boards.emu.scenario import Scenario

    hw_modules = _held()
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    room = bytearray(BOOT_ROOM)
    raw = json.loads(_read_exactly(stdin, size))
    scenario = Scenario(raw, plant_model.FAULTS)
    raw = None
    del room  # now the app's
    parsed = _held()
    out = getattr(sys.stdout, "buffer", sys.stdout)  # raw: the log's bytes as on the Unix port
    board = EmuBoard(scenario, out, 0)
    high = _sample_high_water(board.clock)
    hw_objects = _held()
    first_boot = []
    boot = runner.boot

    def measured_boot(board, scenario, driver, reason):
        app = boot(board, scenario, driver, reason)
        if not first_boot:
            first_boot.append(_held())
        return app

    runner.boot = measured_boot  # the run loop looks ``boot`` up in its module
    try:
        runner.run(scenario, out, board=board)
    finally:
        runner.boot = boot
    booted = first_boot[0]
    end = _held()
    peak = max(high[0], booted, end) - start
    app_held = (app_modules - start) + (booted - hw_objects)
    hw_held = (hw_modules - app_modules) + (hw_objects - parsed)
    total = gc.mem_alloc() + gc.mem_free()
    out.write(
        "mcu heap app=%d hw=%d scenario=%d high=%d end=%d total=%d\n"
        % (app_held, hw_held, parsed - hw_modules, peak, end - start, total)
    )


def _sample_high_water(clock):
    """Wrap ``clock.wait_until`` (once per scheduler step) to sample the heap held."""
    high = [0, 0]  # most held, steps since the last sample
    wait_until = clock.wait_until

    def sampled_wait_until(ticks):
        high[1] += 1
        if high[1] >= SAMPLE_STEPS:
            high[1] = 0
            held = _held()
            if held > high[0]:
                high[0] = held
        wait_until(ticks)

    clock.wait_until = sampled_wait_until
    return high
