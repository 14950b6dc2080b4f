"""The `pixelnet` command: a table of subcommands, each a thin handler over the library.

Each folder contributes its own subcommands through ``register(subparsers)`` in
its ``cli`` module. A ``PixelnetError`` becomes one line on stderr and exit
code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pixelnet import __version__
from pixelnet.errors import PixelnetError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelnet",
        description="Train a four-pixel-camera network, put it on a microcontroller, "
        "and verify over serial that the board computes what the laptop computed.",
        epilog="`pixelnet COMMAND --help` describes a command, its options and their defaults, "
        "with examples.",
    )
    parser.add_argument("--version", action="version", version=f"pixelnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from pixelnet.bench import cli as bench_cli
    from pixelnet.codegen import cli as codegen_cli
    from pixelnet.firmware import cli as firmware_cli
    from pixelnet.host import cli as host_cli
    from pixelnet.trainer import cli as trainer_cli

    for module in (trainer_cli, codegen_cli, firmware_cli, host_cli, bench_cli):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except PixelnetError as exc:
        if args.debug:
            raise
        print(f"pixelnet {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"pixelnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
