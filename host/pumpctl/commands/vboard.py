"""`pumpctl vboard`: the emulated board on a pty and a TCP port until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import time
from pathlib import Path

from pumpctl import trace, traceplay
from pumpctl.commands.run import check_scenario
from pumpctl.errors import PumpctlError, UsageError
from pumpctl.keys import load_key
from pumpctl.vboard import DEFAULT_FLASH_BYTES, VBoard, ensure_image


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vboard", help="run the emulated board behind a pty and a TCP port")
    p.add_argument("--flash", type=Path, help="littlefs2 flash image (created if missing)")
    p.add_argument("--flash-size", type=int, default=DEFAULT_FLASH_BYTES // 1024,
                   metavar="KIB", help="size of a new flash image in KiB (default 2048)")
    p.add_argument("--speed", default="1", help="virtual time per real time (default 1)")
    world = p.add_mutually_exclusive_group()
    world.add_argument("--scenario", type=Path,
                       help="the emulated world: pumpscenario/1 (plant model, timed faults)")
    world.add_argument("--trace", type=Path,
                       help="play a pumptrace/1 trace into the sensor instead of the plant "
                       "(the pump is set up from the trace's metadata)")
    p.add_argument("--host", default="127.0.0.1", help="TCP address to listen on")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    p.add_argument("--heapsize", help="MicroPython heap, e.g. 192K (default: Unix port's)")
    p.add_argument("--mcu", action="store_true",
                   help="the qemu board instead: the firmware on the emulated Cortex-M3 (make "
                   "mcu) in real time, its UART on a pty (needs the ARM toolchain and QEMU)")
    p.add_argument("--repl", action="store_true",
                   help="with --mcu: leave the board at its REPL instead of starting the pump")
    p.add_argument("--key", type=Path, metavar="FILE",
                   help="with --mcu: provision this device key (SEC-1, 64 hex digits) on the "
                   "qemu board's RAM flash before the pump starts (a keyed board: signed "
                   "commands, bench-test mode for `pumpctl replay --port`)")
    p.set_defaults(func=run)


def run_mcu(args: argparse.Namespace) -> int:
    """The qemu board on a pty until stopped (SIGTERM or Ctrl-C)."""
    from pumpctl.mcu.build import Builder
    from pumpctl.mcu.ptyboard import PtyBoard

    for option in ("flash", "scenario", "trace", "heapsize"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option} is for the Unix-port vboard, not --mcu")
    if args.repl and args.key is not None:
        raise UsageError("--key starts a keyed pump: not with --repl")
    key = load_key(args.key) if args.key is not None else None
    image = Builder(log=lambda message: print(f"mcu: {message}", flush=True)).image()
    board = PtyBoard(image)
    stopped = []

    def stop(signum, frame):
        stopped.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if not args.repl:
            board.start_pump(key)
        state = "at its REPL" if args.repl else "pump running" + (", keyed" if key else "")
        print(f"vboard: qemu board ({image.elf.parent.name}), {state}", flush=True)
        print(f"vboard: pty {board.pty}", flush=True)
        t0 = time.monotonic()
        while not stopped and board.proc.poll() is None:
            time.sleep(0.2)
    finally:
        board.stop()
    print(f"vboard: stopped after {time.monotonic() - t0:.1f} s", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.mcu:
        return run_mcu(args)
    if args.repl or args.key is not None:
        raise UsageError("--repl and --key go with --mcu (the Unix-port vboard is keyed by "
                         "`pumpctl flash --key`)")
    try:
        speed = float(args.speed)
    except ValueError:
        raise UsageError(f"--speed: expected a number, got {args.speed!r}") from None
    if speed <= 0:
        raise UsageError(f"--speed: must be positive, got {args.speed}")
    options = {"speed": args.speed}
    for key in ("scenario", "trace"):
        path = getattr(args, key)
        if path is not None:
            if not path.is_file():
                raise UsageError(f"--{key}: no such file: {path}")
            options[key] = str(path.resolve())
    tmpdir = tempfile.TemporaryDirectory(prefix="vboard-")
    if args.scenario is not None:
        check_scenario(args.scenario)  # the firmware's own loader: errors name the field
    if args.trace is not None:
        # Checked here with line numbers; the pump is set up as `pumpctl replay` sets it up.
        tr = trace.read(args.trace)
        setup = Path(tmpdir.name) / "trace-setup.json"
        setup.write_text(json.dumps(traceplay.scenario_for(tr)))
        check_scenario(setup)
        options["scenario"] = str(setup)
        samples = Path(tmpdir.name) / "trace.grid"  # what the board reads, as for replay
        samples.write_bytes(traceplay.grid(tr).tobytes())
        options["trace"] = str(samples)
    image = args.flash
    if image is None:
        image = Path(tmpdir.name) / "flash.img"
    created = ensure_image(image, args.flash_size * 1024)
    try:
        board = VBoard(image, args.host, args.port, options, args.heapsize)
    except OSError as e:
        raise PumpctlError(f"vboard: cannot listen on {args.host}:{args.port}: {e}") from None

    def stop(signum, frame):
        board.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"vboard: flash {image}{' (new)' if created else ''}", flush=True)
    print(f"vboard: pty {board.pty.path}", flush=True)
    print(f"vboard: {board.url}", flush=True)
    t0 = time.monotonic()
    try:
        board.serve()
    finally:
        tmpdir.cleanup()
    print(f"vboard: stopped after {time.monotonic() - t0:.1f} s, "
          f"{board.resets} soft resets", flush=True)
    return 0
