"""The `pixelnet` command: a table of subcommands, each a thin handler over the library.

Each folder contributes its own subcommands through ``register(subparsers)`` in
its ``cli`` module. A ``PixelnetError`` — and a usage error found by argparse —
becomes one line on stderr and exit code 2; ``--debug`` shows the traceback
instead. Ctrl-C exits 130 without a traceback from the first import of the
subcommands on; a closed stdout (``pixelnet … | head``) ends the run quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pixelnet import __version__
from pixelnet.command import EXIT_INTERRUPTED
from pixelnet.errors import PixelnetError, printable
from pixelnet.options import say_deferred_notices

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)} "
                  f"(see {self.prog} --help)\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> object:
        # `--lr=--`: argparse drops the "--" and would hand the handler an empty list
        # instead of calling the option's type on a value
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected a value, not '--'")
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    command = "pixelnet"
    try:
        args = build_parser().parse_args(argv)
        command = f"pixelnet {args.command}"
        try:
            code = int(args.handler(args) or 0)
            say_deferred_notices(args)
            return code
        except PixelnetError as exc:
            if args.debug:
                raise
            print(f"{command}: error: {printable(str(exc))}", file=sys.stderr)
            return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush meets no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
