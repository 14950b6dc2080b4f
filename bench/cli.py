"""`pixelnet bench`: every number pixelnet claims, measured here, next to its peers.

    pixelnet bench [--quick] [--out results.json] [--markdown results.md]
                   [--only train,inference,fidelity,firmware,serial,micropython]
    pixelnet bench --from results.json --markdown results.md   # re-render, no run

Progress goes to stderr, the table to stdout; the JSON is rewritten after every
area so an interrupted run keeps what it measured. Exit status 0 when every
section ran and every row met its target, 1 when a section failed or a row missed
its target (as `pixelnet verify` fails a check), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from pixelnet.bench.report import format_markdown, format_table
from pixelnet.bench.rows import SECTIONS
from pixelnet.errors import PixelnetError
from pixelnet.files import write_atomically
from pixelnet.options import add_command

EXIT_FAILED = 1


def section_list(text: str) -> list[str]:
    """``--only`` value: comma-separated section names, each known."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown) or '(none given)'} "
            f"(known: {','.join(SECTIONS)})")
    return names


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
    p = add_command(
        sub, "bench",
        help="measure pixelnet against its peers (scikit-learn, emlearn, the line rate)",
        description="Measure training speed, inference cycles and bytes on the ATmega328P, "
        "fidelity, firmware size, serial throughput and MicroPython speed, each next to a peer; "
        "print one table. Exit 1 when a section failed to run or a row missed its target.",
        examples=[
            "pixelnet bench --quick",
            "pixelnet bench --markdown perf.md --out perf.json",
            "pixelnet bench --from perf.json --markdown perf.md   # re-render, no run",
        ])
    p.add_argument("--quick", action="store_true",
                   help="a smoke run in under a minute (fewer repetitions and samples)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--out", type=Path, metavar="JSON",
                        help="JSON file to write the raw numbers to")
    p.add_argument("--markdown", type=Path, metavar="MD",
                   help="write the README's Performance section here")
    p.add_argument("--only", type=section_list, default=list(SECTIONS), metavar="SECTIONS",
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    source.add_argument("--from", dest="source", type=Path, metavar="JSON",
                        help="render a saved --out file instead of running")
    p.set_defaults(handler=handle_bench)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays in an area module's result become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def to_json(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=1, default=_plain) + "\n"


def load_results(path: Path) -> dict[str, Any]:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PixelnetError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise PixelnetError(f"{path} is not JSON: {exc}") from None
    if not isinstance(results, dict) or not {"header", "rows"} <= results.keys():
        raise PixelnetError(f"{path} is not a `pixelnet bench --out` file (no header and rows)")
    return results


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run, for the header and the README."""
    argv = ["pixelnet", "bench"]
    if args.quick:
        argv.append("--quick")
    if args.only != list(SECTIONS):
        argv += ["--only", ",".join(args.only)]
    if args.markdown:
        argv += ["--markdown", str(args.markdown)]
    if args.out:
        argv += ["--out", str(args.out)]
    return shlex.join(argv)


def check_writable(*paths: Path | None) -> None:
    """Fail before minutes of measuring, not after, when an output cannot be written."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            raise PixelnetError(f"cannot write {path}: no directory {path.parent}")


def handle_bench(args: argparse.Namespace) -> int:
    check_writable(args.out, args.markdown)
    if args.source is not None:
        results = load_results(args.source)
    else:
        from pixelnet.bench.suite import run_suite

        def save(partial: dict[str, Any]) -> None:
            if args.out:
                write_atomically(args.out, to_json(partial))

        results = run_suite(args.only, args.quick, command_line(args), on_update=save)
        save(results)
    if args.markdown:
        write_atomically(args.markdown, format_markdown(results))
    print(format_table(results))
    for path in (args.out, args.markdown):
        if path is not None:
            print(f"wrote {path}", file=sys.stderr)
    return EXIT_FAILED if results.get("errors") or missed_targets(results) else 0


def missed_targets(results: dict[str, Any]) -> list[str]:
    """The ids of the rows that were judged against a target and missed it."""
    return [row["id"] for row in results["rows"] if row.get("passed") is False]
