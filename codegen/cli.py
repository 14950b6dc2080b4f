"""`pixelnet generate`: a model file (or the lesson's network) to C or MicroPython."""

from __future__ import annotations

import argparse

from pixelnet.errors import PixelnetError
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import load_model

from .generate import write_generated
from .quantize import FORMATS, quantize
from .render import OPTIMIZE, TARGETS, render
from .report import render_report


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = sub.add_parser("generate", help="generate fixed-point C or MicroPython from a model",
                       description="Quantise a model and write C (Arduino/AVR or any C99 "
                       "compiler) or a MicroPython module; print the quantisation report.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("model", nargs="?", help="model file (JSON)")
    source.add_argument("--lesson", action="store_true", help="the lesson's hand-wired network")
    p.add_argument("--target", choices=TARGETS, required=True)
    p.add_argument("--format", choices=tuple(FORMATS), default="q7", dest="fmt")
    p.add_argument("--prefix", default="pixelnet", help="prefix of every generated name")
    p.add_argument("--optimize", choices=OPTIMIZE, default="size",
                   help="size: weight tables and loops; speed: unrolled (MicroPython: native)")
    p.add_argument("--mpy", action="store_true",
                   help="micropython: also compile the module to .mpy bytecode with mpy-cross")
    p.add_argument("--out", required=True, help="output directory (created); with "
                   "--target arduino-library the library folder, zipped beside it as OUT.zip")
    p.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    if args.lesson and args.model:
        raise PixelnetError("give a model file or --lesson, not both")
    if args.mpy and args.target != "micropython":
        raise PixelnetError("--mpy goes with --target micropython")
    model = lesson_model() if args.lesson else load_model(args.model)
    qm = quantize(model, args.fmt)
    files = render(qm, args.target, prefix=args.prefix, optimize=args.optimize)
    paths = write_generated(files, args.target, args.out, args.prefix)
    print(render_report(model, qm, args.optimize))
    for path in paths:
        print(f"wrote {path}")
    if args.mpy:
        from pixelnet.firmware.virtual_micropython import compile_to_mpy

        mpy = compile_to_mpy(paths[0], keep_source=True)
        print(f"wrote {mpy} ({mpy.stat().st_size:,} bytes of bytecode; "
              f"the .py is {paths[0].stat().st_size:,} bytes)")
    return 0
