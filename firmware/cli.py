"""`pixelnet sim` (a virtual board on a pseudo-terminal), plus `build` and `flash`."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from pathlib import Path

from pixelnet.argtypes import float_range
from pixelnet.errors import PixelnetError
from pixelnet.files import check_output_dir
from pixelnet.firmware import build_cli
from pixelnet.firmware.boards import BOARDS as AVR_BOARDS
from pixelnet.firmware.boards import simulated_boards
from pixelnet.firmware.virtual import (
    DEFAULT_BUILD_DIR,
    VirtualBoard,
    start_virtual_board,
)
from pixelnet.host.registry import VirtualPort, registered
from pixelnet.options import (
    add_board_option,
    add_build_dir_option,
    add_command,
    add_format_option,
    add_model_options,
    resolve_model,
)
from pixelnet.progress import ticking
from pixelnet.trainer.patterns import SCENES

# The virtual boards `pixelnet sim` runs: the --board choices and their help.
SIM_BOARDS = {
    "uno": "the Uno firmware, the very ELF you would flash, in simavr",
    **{name: f"the {AVR_BOARDS[name].title} firmware ({AVR_BOARDS[name].mcu}) in simavr"
       for name in simulated_boards() if name != "uno"},
    "micropython": "the MicroPython program on the MicroPython unix port",
    "cortex-m3": "the Cortex-M3 firmware (LM3S6965) in QEMU",
    # taken, so that the answer says why not
    **{name: f"not simulated: {row.note}" for name, row in AVR_BOARDS.items()
       if not row.simulated},
}
SIM_DESCRIPTION = """\
Run a virtual board on a pseudo-terminal that pixelnet (and any serial program)
talks to as to a board on USB. It prints "port /dev/pts/N" on stdout and registers
itself, so verify, monitor, record, calibrate and boards find it without --port.

Then type control commands on this terminal, each answered "ok" or "error: ...":
  scene NAME          one of the eight scenes, e.g. scene vertical_left
  pixels a b c d      four intensities -1..1 (TL TR BL BR; black -1, white +1)
  light L             ambient light, 1 = full scale (light 0: the sensor covered)
  gain g0 g1 g2 g3    per-pixel gain;  offset o0 o1 o2 o3: per-pixel offset
  noise S             sensor noise 0..1;  seed N: its random seed
  reset               reset the board (the calibration survives)
  cycles              AVR boards only: cycle counts of the last inferences
  sensor off|on       cortex-m3 only: cut the sensor line (the watchdog restarts the board)
  quit                end (as Ctrl-C does)
More in firmware/sim/SCENE.md."""
SCENE_COMMANDS = ("scene NAME", "pixels a b c d", "light L", "gain g0 g1 g2 g3",
                  "offset o0 o1 o2 o3", "noise S", "seed N", "reset")
BOARD_COMMANDS = {"micropython": (), "cortex-m3": ("sensor off|on",)}  # the rest: AVR


def commands_help(board: str) -> str:
    """The control commands this board's terminal takes: `cycles` only where simavr counts
    them (AVR), `sensor off|on` only on the Cortex-M3."""
    words = (*SCENE_COMMANDS, *BOARD_COMMANDS.get(board, ("cycles",)), "quit")
    return "commands: " + " | ".join(words) + "   (Ctrl-C ends)"

FRACTION = float_range(0, 1)  # of full scale


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sim` (and the firmware build/flash commands) to the `pixelnet` parser."""
    sim = add_command(
        sub, "sim",
        help="run a virtual board (Uno, Nano, Mega in simavr, MicroPython, Cortex-M3 in "
        "QEMU) on a pseudo-terminal",
        description=SIM_DESCRIPTION,
        examples=[
            "pixelnet sim --board uno --model model.json",
            "pixelnet sim --board micropython --lesson --scene vertical_left",
            "pixelnet sim --board uno --firmware build/uno/pixelnet_uno.elf",
            "pixelnet sim --board mega --lesson",
        ],
    )
    add_board_option(sim, SIM_BOARDS)
    add_model_options(sim, required=False, lesson_fallback=True)
    sim.add_argument(
        "--firmware", type=Path, metavar="PATH",
        help="run this already built firmware instead of building one from a model: "
        "the ELF (uno, cortex-m3) or the folder of board files (micropython)")
    add_format_option(sim)
    sim.add_argument("--scene", choices=tuple(SCENES), default="solid_white", metavar="SCENE",
                     help=f"what the sensor looks at when the board starts: {', '.join(SCENES)}")
    sim.add_argument("--noise", type=FRACTION, default=0.0, help="sensor noise, 0..1")
    sim.add_argument("--light", type=FRACTION,
                     help="ambient light, 1 = full scale (default: 0.9)")
    sim.add_argument("--realtime", action="store_true",
                     help="run at the board's real speed rather than as fast as possible")
    sim.add_argument(
        "--state-dir", type=Path,
        help="what survives a restart, e.g. the EEPROM (default: BUILD_DIR/sim-BOARD)")
    add_build_dir_option(sim, DEFAULT_BUILD_DIR)
    sim.set_defaults(handler=run_sim)
    build_cli.register(sub)


def _firmware(args: argparse.Namespace) -> Path:
    """The firmware to run: given, or built from the model into the build directory."""
    if args.firmware is not None:
        if args.model is not None or args.lesson:
            raise PixelnetError("give --firmware or a model (--model, --lesson), not both")
        return args.firmware
    model = resolve_model(args)
    out = args.build_dir / args.board
    if args.board == "cortex-m3":
        from pixelnet.firmware.build_cortex import build_cortex

        with ticking(f"building the cortex-m3 firmware for model {model.short_hash} in {out}"):
            return build_cortex(model, args.fmt, out).elf
    if args.board != "micropython":
        from pixelnet.firmware.build import build_uno

        with ticking(f"building the {args.board} firmware for model {model.short_hash} in {out}"):
            return build_uno(model, args.fmt, out, board=args.board).elf
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    return prepare_micropython_files(model, args.fmt, out)


def _serve_terminal(board: VirtualBoard) -> None:
    """Pass terminal lines to the board's control channel until `quit` or end of input."""
    for raw in sys.stdin:
        line = raw.strip()
        if line == "quit":
            return
        if line:
            print(board.control(line), flush=True)
    print("stdin closed; the board keeps running until Ctrl-C", file=sys.stderr, flush=True)
    signal.pause()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _check_simulated(board: str) -> None:
    row = AVR_BOARDS.get(board)
    if row is not None and not row.simulated:
        raise PixelnetError(f"the {row.title} cannot be simulated here: {row.note}; "
                            f"`pixelnet build --board {board}` builds its firmware")


def run_sim(args: argparse.Namespace) -> int:
    # a terminal closing or a `kill` ends the board as cleanly as Ctrl-C does, and Ctrl-C
    # works even if we were started with SIGINT ignored (as `cmd &` does in a script)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    _check_simulated(args.board)
    state_dir = args.state_dir or args.build_dir / f"sim-{args.board}"
    check_output_dir(args.build_dir, "build directory")
    check_output_dir(state_dir, "state directory")
    firmware = _firmware(args)
    with start_virtual_board(
        args.board,
        firmware=firmware,
        state_dir=state_dir,
        scene=args.scene,
        noise=args.noise,
        realtime=args.realtime,
        build_dir=args.build_dir,
    ) as board:
        if args.light is not None:
            board.set_scene(light=args.light)
        entry = VirtualPort(board.port, args.board, str(firmware), os.getpid())
        with registered(entry):
            print(f"port {board.port}", flush=True)
            print(f"{board.board} running {firmware}; state in {state_dir}", file=sys.stderr)
            print(next_commands(board.port, _model_words(args)), file=sys.stderr)
            print(commands_help(args.board), file=sys.stderr, flush=True)
            _serve_terminal(board)
    return 0


def _model_words(args: argparse.Namespace) -> str:
    """How the next commands name the model this board runs."""
    if args.model is not None:
        return f"--model {shlex.quote(str(args.model))}"
    if args.firmware is not None:
        return "--model MODEL.json"  # the model that firmware was built from
    return "--lesson"


def next_commands(port: str, model_words: str) -> str:
    """What to paste in a second terminal while this board runs (the port is found without
    --port too, as long as this is the only board)."""
    steps = [
        (f"pixelnet verify {model_words} --vectors random --port {port}", ""),
        (f"pixelnet monitor {model_words} --port {port}", "Ctrl-C ends"),
        (f"pixelnet calibrate --port {port}", "it says what to type here for dark and bright"),
        (f"pixelnet record --label horizontal --samples 500 --out horiz.csv --port {port}",
         "here: `scene horizontal_top` first"),
    ]
    lines = [f"  {command}" + (f"   # {note}" if note else "") for command, note in steps]
    return "next, in a second terminal (pixelnet boards lists this board):\n" + "\n".join(lines)
