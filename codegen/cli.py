"""`pixelnet generate`: a model file (or the lesson's network) to C or MicroPython."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pixelnet.argtypes import MAX_ERROR, float_range
from pixelnet.errors import PixelnetError
from pixelnet.files import check_output_dir
from pixelnet.options import (
    add_command,
    add_deprecated_alias,
    add_format_option,
    add_model_options,
    resolve_model,
)

from .generate import write_generated
from .quantize import quantize
from .render import OPTIMIZE, TARGETS, render
from .report import analyse, failures, render_report, warnings

TARGET_HELP = {
    "arduino": "C for the Arduino/AVR, weights in flash (PROGMEM)",
    "c": "C99 for any compiler",
    "micropython": "a MicroPython module with the same integer arithmetic",
    "arduino-library": "an Arduino library (the arduino C, an example, library.properties, "
    "library.json) in DIR and zipped as DIR.zip",
}
DEFAULT_OUT_DIR = Path("build/gen")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = add_command(
        sub, "generate", help="generate fixed-point C or MicroPython from a model",
        description="Quantise a model and write C (Arduino/AVR or any C99 compiler) or a "
        "MicroPython module; print the quantisation report.",
        examples=[
            "pixelnet generate --model model.json --target arduino --format q7 --out-dir gen/",
            "pixelnet generate --lesson --target micropython --format q15 --out-dir gen/",
        ],
    )
    add_model_options(p, required=True, positional_alias=True)
    targets = "; ".join(f"{t}: {TARGET_HELP.get(t, t)}" for t in TARGETS)
    p.add_argument("--target", choices=TARGETS, required=True, help=f"what to generate ({targets})")
    add_format_option(p)
    p.add_argument("--prefix", default="pixelnet", help="prefix of every generated name")
    p.add_argument("--optimize", choices=OPTIMIZE, default="size",
                   help="size: weight tables and loops; speed: unrolled (MicroPython: native)")
    p.add_argument("--mpy", action="store_true",
                   help="micropython: also compile the module to .mpy bytecode with mpy-cross")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, metavar="DIR",
                   help="folder for the generated files (created); with --target "
                   "arduino-library the library folder, zipped beside it as DIR.zip")
    add_deprecated_alias(p, "--out", "out_dir")
    p.add_argument("--min-agreement", type=float_range(0, 100), metavar="PERCENT",
                   help="exit 1 when the integer model picks the float model's class on "
                   "fewer than PERCENT of the clean patterns (the files are still written)")
    p.add_argument("--max-error", type=float_range(0, MAX_ERROR), metavar="E",
                   help="exit 1 when the largest error found exceeds E (output units)")
    p.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    check_output_dir(args.out_dir)
    if args.mpy and args.target != "micropython":
        raise PixelnetError("--mpy goes with --target micropython")
    model = resolve_model(args)
    qm = quantize(model, args.fmt)
    files = render(qm, args.target, prefix=args.prefix, optimize=args.optimize)
    paths = write_generated(files, args.target, args.out_dir, args.prefix)
    analysis = analyse(model, qm)
    print(render_report(model, qm, args.optimize, target=args.target, analysis=analysis))
    for path in paths:
        print(f"wrote {path}")
    if args.mpy:
        from pixelnet.firmware.virtual_micropython import compile_to_mpy

        mpy = compile_to_mpy(paths[0], keep_source=True)
        print(f"wrote {mpy} ({mpy.stat().st_size:,} bytes of bytecode; "
              f"the .py is {paths[0].stat().st_size:,} bytes)")
    for line in warnings(analysis):
        print(f"pixelnet generate: WARNING: {line}", file=sys.stderr)
    missed = failures(analysis, args.min_agreement, args.max_error)
    for line in missed:
        print(f"pixelnet generate: FAIL: {line}", file=sys.stderr)
    return 1 if missed else 0
