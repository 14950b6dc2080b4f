"""`pixelnet generate`: a model file (or the lesson's network) to C or MicroPython."""

from __future__ import annotations

import argparse
import sys

from pixelnet.errors import PixelnetError
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import load_model

from .quantize import FORMATS, quantize
from .render import OPTIMIZE, TARGETS, render, write_files
from .report import analyse, failures, render_report, warnings


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
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--min-agreement", type=float, metavar="PERCENT",
                   help="exit 1 when the integer model picks the float model's class on "
                   "fewer than PERCENT of the clean patterns (the files are still written)")
    p.add_argument("--max-error", type=float, metavar="E",
                   help="exit 1 when the largest error found exceeds E (output units)")
    p.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    if args.lesson and args.model:
        raise PixelnetError("give a model file or --lesson, not both")
    model = lesson_model() if args.lesson else load_model(args.model)
    qm = quantize(model, args.fmt)
    files = render(qm, args.target, prefix=args.prefix, optimize=args.optimize)
    paths = write_files(files, args.out)
    analysis = analyse(model, qm)
    print(render_report(model, qm, args.optimize, analysis))
    for path in paths:
        print(f"wrote {path}")
    for line in warnings(analysis):
        print(f"pixelnet generate: WARNING: {line}", file=sys.stderr)
    missed = failures(analysis, args.min_agreement, args.max_error)
    for line in missed:
        print(f"pixelnet generate: FAIL: {line}", file=sys.stderr)
    return 1 if missed else 0
