"""Record a scenario run as a trace, or replay a trace into the firmware.

Usage (Unix port or CPython, from the firmware directory):
    main.py --record TRACE SCENARIO   run SCENARIO on the plant, write what the sensor read
    main.py --replay GRID SCENARIO    run SCENARIO with the sensor and connector read from GRID
Events go to stdout. GRID is a trace converted by the host (pumpctl.traceplay):
one uint16 of counts per 100 ms. In a replay SCENARIO carries the settings, basal profile,
duration and host actions (the host builds it from the trace's metadata, and the readings of
its ``bg_mgdl`` column as ``cgm`` commands); fault injections in it are ignored: the trace is
the world. A recording of a scenario that streams CGM readings gets the ``bg_mgdl`` column.
"""

import sys

from pump import glucose
from pump.units import InputError

from boards.emu import plant as plant_model
from boards.emu import runner, tracefile
from boards.emu import scenario as scenario_mod
from boards.emu.board import EmuBoard

USAGE = "usage: main.py --record|--replay TRACE SCENARIO"


def _milli(value):
    """mU as a JSON number of units with 3 decimals, e.g. 50 -> 0.050 (no float repr)."""
    return tracefile.Raw("%d.%03d" % (value // 1000, value % 1000))


def meta_of(scenario):
    """The trace metadata of a scenario run (docs/trace-format.md)."""
    s = scenario.settings
    return {
        "sample_hz": 10,
        "pulse_u": _milli(s.pulse),
        "basal_u_per_h": [[start, _milli(rate)] for start, rate in scenario.profile.to_list()],
        "reservoir_u": _milli(s.reservoir),
        "source": "emu",
        "scenario": scenario.name,
        "seed": scenario.seed,
        "connector_fitted": scenario.connector_fitted,
        "plant": scenario.plant_params,
    }


def streams_cgm(actions):
    """Whether any action gives the pump a CGM reading (a recording then has bg_mgdl)."""
    for a in actions:
        if a.kind in ("cgm", "cgm_stream"):  # a scenario's cgm_mgdl stream
            return True
        if a.kind == "command" and a.data[0] in ("bg", "cgm") and a.data[2] == glucose.CGM:
            return True
    return False


def run(scenario, out, mode, trace_path):
    board = EmuBoard(scenario, out)
    actions = scenario.actions
    trace_out = None
    if mode == "record":
        trace_out = open(trace_path, "w")
        bg = streams_cgm(actions)
        recorder = tracefile.TraceRecorder(trace_out, meta_of(scenario), board, bg)
        board.pressure = recorder
        if bg:
            board.out = recorder.events(out)
    else:
        samples = tracefile.GridSamples(trace_path)
        board.pressure = tracefile.TracePressure(samples, board.clock)
        board.connector = tracefile.TraceConnector(samples, board.clock, scenario.connector_fitted)
        # the trace is the world: only the user's and the host's actions are replayed
        actions = [a for a in actions if a.kind in scenario_mod.USER_KINDS]
    try:
        return runner.run(scenario, out, board=board, actions=actions)
    finally:
        if trace_out is not None:
            trace_out.close()


def main(argv):
    try:
        if len(argv) != 3 or argv[0] not in ("--record", "--replay"):
            raise InputError("arguments", USAGE)
        mode = argv[0][2:]
        scenario = scenario_mod.load(argv[2], plant_model.FAULTS)
    except InputError as e:
        sys.stderr.write("error: %s\n" % e)
        sys.exit(2)
    run(scenario, sys.stdout, mode, argv[1])
