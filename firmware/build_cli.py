"""`pixelnet build` and `pixelnet flash`: thin handlers over build.py, flash.py and MicroPython."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelnet.errors import PixelnetError
from pixelnet.firmware.build_cortex import CORTEX_BOARDS
from pixelnet.trainer.model_file import Model, load_model

BOARDS = ("uno", "micropython", *CORTEX_BOARDS)
DEFAULT_OUT = Path("build")
UNO_FLASH_BYTES = 32_256  # 32 KB minus the 512-byte Optiboot bootloader
UNO_RAM_BYTES = 2048


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", choices=BOARDS, required=True)
    parser.add_argument("--model", type=Path, help="model file (default: the lesson's network)")
    parser.add_argument("--format", dest="fmt", choices=("q7", "q15"), default="q7",
                        help="number format of the generated model (default q7)")
    parser.add_argument("--prefix", default="pixelnet",
                        help="name prefix of the generated C (uno only)")
    parser.add_argument("--no-core", dest="core", action="store_false",
                        help="uno: build with plain avr-gcc, without the Arduino core")
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
    if args.board in CORTEX_BOARDS:
        return _build_cortex(args, out)
    if args.board == "uno":
        from pixelnet.firmware.build import build_uno

        result = build_uno(_model(args), args.fmt, out, prefix=args.prefix, core=args.core)
        print(f"firmware: {result.hex}")
        print(f"sketch:   {result.sketch_dir}")
        print(f"flash:    {result.flash_bytes} of {UNO_FLASH_BYTES} bytes "
              f"({100 * result.flash_bytes / UNO_FLASH_BYTES:.1f}%)")
        print(f"RAM:      {result.ram_bytes} of {UNO_RAM_BYTES} bytes "
              f"({100 * result.ram_bytes / UNO_RAM_BYTES:.1f}%) before the stack")
        return result.hex
    from pixelnet.firmware.build import default_model
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    files = prepare_micropython_files(_model(args) or default_model(), args.fmt, out)
    print(f"board files: {files}")
    return files


def _build_cortex(args: argparse.Namespace, out: Path) -> Path:
    from pixelnet.firmware.build_cortex import build_cortex

    result = build_cortex(_model(args), args.fmt, out, board=args.board, prefix=args.prefix)
    board = CORTEX_BOARDS[args.board]
    print(f"firmware: {result.bin}  (ELF for QEMU: {result.elf})")
    print(f"flash:    {result.flash_bytes} of {board.flash_bytes} bytes "
          f"({100 * result.flash_bytes / board.flash_bytes:.1f}%)")
    print(f"RAM:      {result.ram_bytes} of {board.ram_bytes} bytes "
          f"({100 * result.ram_bytes / board.ram_bytes:.1f}%) before the stack")
    return result.bin


def run_build(args: argparse.Namespace) -> int:
    _build(args)
    return 0


def run_flash(args: argparse.Namespace) -> int:
    if args.board in CORTEX_BOARDS:
        raise PixelnetError(
            f"pixelnet cannot flash {args.board}: `pixelnet build` writes the .bin, and the "
            "chip's own tool (OpenOCD, st-flash, picotool …) flashes it; the virtual board: "
            "`pixelnet sim --board cortex-m3` (firmware/README.md)"
        )
    if args.board == "uno":
        from pixelnet.firmware.flash import check_flash_tools, flash_uno

        check_flash_tools(args.port)
        flash_uno(_build(args), args.port)
    else:
        from pixelnet.firmware.flash_micropython import flash_micropython

        flash_micropython(_build(args), args.port)
    print(f"flashed {args.board} on {args.port}")
    return 0
