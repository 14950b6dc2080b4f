"""`pixelnet sim` (a virtual board on a pseudo-terminal), plus `build` and `flash`.

`pixelnet sim` prints ``port /dev/pts/N`` on stdout, then reads control commands from
the terminal (``scene vertical_left``, ``light 0.5``, ``noise 0.02``, ``reset``,
``cycles`` on the Uno …; see firmware/sim/SCENE.md), answering each ``ok`` or
``error: …``, until Ctrl-C or ``quit``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from pixelnet.firmware import build_cli
from pixelnet.firmware.build import FORMATS
from pixelnet.firmware.virtual import (
    BOARDS,
    DEFAULT_BUILD_DIR,
    VirtualBoard,
    start_virtual_board,
)
from pixelnet.trainer.patterns import SCENES

COMMANDS_HELP = (
    "commands: scene NAME | pixels a b c d | light L | gain g0 g1 g2 g3 | "
    "offset o0 o1 o2 o3 | noise S | seed N | reset | cycles (uno) | quit   (Ctrl-C ends)"
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sim` (and the firmware build/flash commands) to the `pixelnet` parser."""
    sim = sub.add_parser(
        "sim",
        help="run a virtual board (Uno in simavr, or MicroPython) on a pseudo-terminal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("--board", choices=BOARDS, required=True)
    source = sim.add_mutually_exclusive_group()
    source.add_argument(
        "--firmware", type=Path, help="ELF (uno) or folder of MicroPython files, already built"
    )
    source.add_argument(
        "--model", type=Path, help="model file to build the firmware from (default: the lesson's)"
    )
    sim.add_argument("--format", dest="fmt", choices=FORMATS, default="q7")
    sim.add_argument("--scene", choices=tuple(SCENES), default="solid_white")
    sim.add_argument("--noise", type=float, default=0.0, help="sensor noise, 0..1")
    sim.add_argument("--light", type=float, help="ambient light, 0..1 of full scale (default 0.9)")
    sim.add_argument("--realtime", action="store_true", help="run at the board's real speed")
    sim.add_argument(
        "--state-dir", type=Path, help="what survives a restart (default BUILD/sim-BOARD)"
    )
    sim.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    sim.set_defaults(handler=run_sim)
    build_cli.register(sub)


def _firmware(args: argparse.Namespace) -> Path:
    """The firmware to run: given, or built from the model into the build directory."""
    if args.firmware is not None:
        return args.firmware
    from pixelnet.firmware.build import default_model
    from pixelnet.trainer.model_file import load_model

    model = default_model() if args.model is None else load_model(args.model)
    out = args.build_dir / args.board
    if args.board == "cortex-m3":
        from pixelnet.firmware.build_cortex import build_cortex

        return build_cortex(model, args.fmt, out).elf
    if args.board == "uno":
        from pixelnet.firmware.build import build_uno

        return build_uno(model, args.fmt, out).elf
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


def run_sim(args: argparse.Namespace) -> int:
    # a terminal closing or a `kill` ends the board as cleanly as Ctrl-C does, and Ctrl-C
    # works even if we were started with SIGINT ignored (as `cmd &` does in a script)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    firmware = _firmware(args)
    state_dir = args.state_dir or args.build_dir / f"sim-{args.board}"
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
        print(f"port {board.port}", flush=True)
        print(f"{board.board} running {firmware}; state in {state_dir}", file=sys.stderr)
        print(COMMANDS_HELP, file=sys.stderr, flush=True)
        _serve_terminal(board)
    return 0
