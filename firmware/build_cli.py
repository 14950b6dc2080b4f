"""`pixelnet build` and `pixelnet flash`: thin handlers over build.py, flash.py and MicroPython."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelnet.firmware.boards import BOARDS as AVR_BOARDS
from pixelnet.trainer.model_file import Model, load_model

BOARDS = (*AVR_BOARDS, "micropython")
DEFAULT_OUT = Path("build")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", choices=BOARDS, required=True)
    parser.add_argument("--model", type=Path, help="model file (default: the lesson's network)")
    parser.add_argument("--format", dest="fmt", choices=("q7", "q15"), default="q7",
                        help="number format of the generated model (default q7)")
    parser.add_argument("--prefix", default="pixelnet",
                        help="name prefix of the generated C (AVR boards only)")
    parser.add_argument("--no-core", dest="core", action="store_false",
                        help="uno, nano: build with plain avr-gcc, without the Arduino core")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="build directory (default ./build); each board gets a subfolder")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `build` and `flash` to the `pixelnet` parser."""
    build = sub.add_parser("build", help="generate the model and build the board's firmware")
    _add_model_options(build)
    build.set_defaults(handler=run_build)
    flash = sub.add_parser("flash", help="build, then put the firmware on a board")
    _add_model_options(flash)
    flash.add_argument("--port", required=True, help="serial port of the board, e.g. /dev/ttyACM0")
    flash.set_defaults(handler=run_flash)


def _model(args: argparse.Namespace) -> Model | None:
    return None if args.model is None else load_model(args.model)


def _build(args: argparse.Namespace) -> Path:
    """Builds for the board and returns what gets flashed: the .hex or the files folder."""
    out = Path(args.out) / args.board
    if args.board in AVR_BOARDS:
        from pixelnet.firmware.build import build_uno

        row = AVR_BOARDS[args.board]
        result = build_uno(_model(args), args.fmt, out, prefix=args.prefix, core=args.core,
                           board=args.board)
        print(f"firmware: {result.hex}  ({row.title}, {row.mcu})")
        print(f"sketch:   {result.sketch_dir}")
        print(f"flash:    {result.flash_bytes} of {row.flash_max} bytes "
              f"({100 * result.flash_bytes / row.flash_max:.1f}%)")
        print(f"RAM:      {result.ram_bytes} of {row.ram_max} bytes "
              f"({100 * result.ram_bytes / row.ram_max:.1f}%) before the stack")
        return result.hex
    from pixelnet.firmware.build import default_model
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    files = prepare_micropython_files(_model(args) or default_model(), args.fmt, out)
    print(f"board files: {files}")
    return files


def run_build(args: argparse.Namespace) -> int:
    _build(args)
    return 0


def run_flash(args: argparse.Namespace) -> int:
    if args.board in AVR_BOARDS:
        from pixelnet.firmware.flash import check_flash_tools, flash_board

        check_flash_tools(args.port)
        baud = flash_board(_build(args), args.port, args.board)
        print(f"avrdude: {AVR_BOARDS[args.board].avrdude_programmer} at {baud} baud")
    else:
        from pixelnet.firmware.flash_micropython import flash_micropython

        flash_micropython(_build(args), args.port)
    print(f"flashed {args.board} on {args.port}")
    return 0
