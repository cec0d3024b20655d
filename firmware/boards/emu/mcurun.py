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
- end: everything still held when the run ends; total: the heap's size;
- base: held before any of this (the REPL's own), not in the figures above: the most the
  heap held in all is base + high.
"""

import gc
import json
import sys

SAMPLE_STEPS = 5000  # a collection costs about 1M instructions at 64 KB


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
    # The scenario is parsed before the bulk of the modules are imported: the few objects it
    # keeps end up between the JSON parser's temporaries, and the modules' objects then fill
    # those holes, so what is left for the app's boot is in one piece (on a board there is no
    # script in RAM at all). Parsed last, on a 64 KB heap the 72 h run found no 1.2 KB hole.
    start = _held()
    from pump import basal, commands, glucose, settings, units  # noqa: F401  (the app's)

    app_first = _held()
    from boards.emu import plant as plant_model
    from boards.emu.scenario import Scenario

    hw_first = _held()
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    raw = json.loads(_read_exactly(stdin, size))
    scenario = Scenario(raw, plant_model.FAULTS)
    raw = None
    parsed = _held()
    from pump import app as _app  # noqa: F401  (the rest of the application's modules)

    app_modules = _held()
    from boards.emu import runner
    from boards.emu.board import EmuBoard

    hw_modules = _held()
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
    app_held = (app_first - start) + (app_modules - parsed) + (booted - hw_objects)
    hw_held = (hw_first - app_first) + (hw_modules - app_modules) + (hw_objects - hw_modules)
    total = gc.mem_alloc() + gc.mem_free()
    out.write(
        "mcu heap app=%d hw=%d scenario=%d high=%d end=%d total=%d base=%d\n"
        % (app_held, hw_held, parsed - hw_first, peak, end - start, total, start)
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
