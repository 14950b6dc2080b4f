"""`pixelnet build` and `pixelnet flash`: thin handlers over build.py, flash.py and MicroPython."""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelnet.argtypes import checked
from pixelnet.errors import PixelnetError
from pixelnet.files import check_output_dir
from pixelnet.firmware.boards import BOARDS as AVR_BOARDS
from pixelnet.firmware.build import check_firmware_prefix
from pixelnet.firmware.build_cortex import CORTEX_BOARDS
from pixelnet.options import (
    add_board_option,
    add_build_dir_option,
    add_command,
    add_deprecated_alias,
    add_format_option,
    add_model_options,
    add_port_options,
    resolve_model,
    warn,
)
from pixelnet.progress import ticking
from pixelnet.trainer.model_file import Model

# The boards `build` and `flash` know, and what each is: the --board choices and their help.
BOARDS = {
    **{name: f"{row.title}, {row.mcu}, built with the Arduino core"
       for name, row in AVR_BOARDS.items()},
    "micropython": "any MicroPython board with four ADC inputs",
    **{name: board.description for name, board in CORTEX_BOARDS.items()},
}
DEFAULT_BUILD_DIR = Path("build")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    add_board_option(parser, BOARDS)
    add_model_options(parser, required=False, lesson_fallback=True)
    add_format_option(parser)
    parser.add_argument("--prefix", default="pixelnet", type=checked(check_firmware_prefix),
                        help="AVR boards only: name prefix of the generated C")
    parser.add_argument("--no-core", dest="core", action="store_false",
                        help="uno, nano only: build with plain avr-gcc, without the Arduino core")
    add_build_dir_option(parser, DEFAULT_BUILD_DIR)
    add_deprecated_alias(parser, "--out", "build_dir")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `build` and `flash` to the `pixelnet` parser."""
    build = add_command(
        sub, "build", help="generate the model and build the board's firmware",
        description="Generate the model's code and build the board's firmware: for the Uno the "
        "sketch with the Arduino core (.elf/.hex, flash and RAM use), for MicroPython the "
        "folder of board files. Without --model, the lesson's network (said on stderr).",
        examples=[
            "pixelnet build --board uno --model model.json",
            "pixelnet build --board micropython --model model.json --format q15",
            "pixelnet build --board cortex-m3 --model model.json",
        ],
    )
    _add_model_options(build)
    build.set_defaults(handler=run_build)
    flash = add_command(
        sub, "flash", help="build, then put the firmware on a board",
        description="Build as `pixelnet build` does, then write it to the board: avrdude for "
        "the Uno, mpremote for MicroPython. A virtual board is not flashed: restart "
        "`pixelnet sim` with the new model instead.",
        examples=[
            "pixelnet flash --board uno --model model.json   # the one board plugged in",
            "pixelnet flash --board uno --port /dev/ttyACM0 --model model.json",
            "pixelnet flash --board micropython --port /dev/ttyUSB0 --model model.json",
        ],
    )
    _add_model_options(flash)
    add_port_options(flash)
    flash.set_defaults(handler=run_flash)


def _build(args: argparse.Namespace) -> Path:
    """Builds for the board and returns what gets flashed: the .hex or the files folder."""
    out = check_output_dir(Path(args.build_dir) / args.board, "build directory")
    model = resolve_model(args)
    if args.board in CORTEX_BOARDS:
        return _build_cortex(args, model, out)
    if args.board in AVR_BOARDS:
        from pixelnet.firmware.build import build_uno

        row = AVR_BOARDS[args.board]
        with ticking(f"building the {args.board} firmware in {out}"):
            result = build_uno(model, args.fmt, out, prefix=args.prefix, core=args.core,
                               board=args.board)
        print(f"firmware: {result.hex}  ({row.title}, {row.mcu})")
        print(f"sketch:   {result.sketch_dir}")
        print(f"flash:    {result.flash_bytes} of {row.flash_max} bytes "
              f"({100 * result.flash_bytes / row.flash_max:.1f}%)")
        print(f"RAM:      {result.ram_bytes} of {row.ram_max} bytes "
              f"({100 * result.ram_bytes / row.ram_max:.1f}%) before the stack")
        return result.hex
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    files = prepare_micropython_files(model, args.fmt, out)
    print(f"board files: {files}")
    return files


def _build_cortex(args: argparse.Namespace, model: Model, out: Path) -> Path:
    from pixelnet.firmware.build_cortex import build_cortex

    with ticking(f"building the {args.board} firmware in {out}"):
        result = build_cortex(model, args.fmt, out, board=args.board, prefix=args.prefix)
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


def refuse_virtual(port: str, args: argparse.Namespace) -> None:
    """A virtual board runs the firmware it was started with: say how to restart it, at once
    (rather than after a minute of avrdude retries on a port with no bootloader)."""
    from pixelnet.host.registry import virtual_board_on

    virtual = virtual_board_on(port)
    if virtual is None and not port.startswith("/dev/pts/"):
        return
    model = f"--model {args.model}" if args.model is not None else "--lesson"
    what = f"the {virtual.description}" if virtual else "a pseudo-terminal, not a USB board"
    raise PixelnetError(
        f"{port} is {what}: a virtual board is not flashed; end it (Ctrl-C or `quit` in its "
        f"terminal) and start it with the new model: "
        f"pixelnet sim --board {virtual.board if virtual else args.board} {model}"
    )


def run_flash(args: argparse.Namespace) -> int:
    from pixelnet.host.connect import auto_detect

    if args.board in CORTEX_BOARDS:
        raise PixelnetError(
            f"pixelnet cannot flash {args.board}: `pixelnet build` writes the .bin, and the "
            "chip's own tool (OpenOCD, st-flash, picotool …) flashes it; the virtual board: "
            "`pixelnet sim --board cortex-m3` (firmware/README.md)"
        )
    port = args.port or auto_detect()
    refuse_virtual(port, args)
    if args.port is None:
        warn(args, f"flashing the board on {port}")
    if args.board in AVR_BOARDS:
        from pixelnet.firmware.flash import check_flash_tools, flash_board

        check_flash_tools(port)
        baud = flash_board(_build(args), port, args.board)
        print(f"avrdude: {AVR_BOARDS[args.board].avrdude_programmer} at {baud} baud")
    else:
        from pixelnet.firmware.flash_micropython import flash_micropython

        flash_micropython(_build(args), port)
    print(f"flashed {args.board} on {port}")
    return 0
