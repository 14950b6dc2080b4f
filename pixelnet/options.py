"""The one vocabulary of the `pixelnet` subcommands: each concept has one flag everywhere.

* the model: ``--model FILE`` (or ``--lesson`` for the lesson's hand-wired network);
* files and folders: ``--out`` is always a file, ``--out-dir`` a folder of generated
  files, ``--build-dir`` a build directory;
* the board: ``--board NAME``, ``--port PORT`` (auto-detected when left out, virtual
  boards included), ``--baud``; the number format: ``--format {q7,q15,16x8}``.

Every subcommand is made by :func:`add_command`, which gives it a description, examples
and a help formatter that shows each option's default. Old spellings (the model as a
positional argument, ``--out`` for a folder) still work as hidden, deprecated aliases.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pixelnet.argtypes import int_range
from pixelnet.errors import PixelnetError

if TYPE_CHECKING:
    from pixelnet.trainer.model_file import Model

FORMATS = ("q7", "q15", "16x8")
DEFAULT_FORMAT = "q7"
BAUD_RATE = int_range(50, 12_000_000)  # what serial hardware and pyserial can set


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Paragraphs wrapped, indented lines (lists, examples) kept as written, and
    ``(default: …)`` after every option that has a default worth saying.

    Unlike ``ArgumentDefaultsHelpFormatter`` it says nothing for flags and for options
    whose default is "not given" (None, empty), and nothing twice when the help says it.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        prose: list[str] = []
        for line in [*text.splitlines(), ""]:
            if line and not line[0].isspace():
                prose.append(line)
                continue
            if prose:
                out.append(textwrap.fill(" ".join(prose), width, initial_indent=indent,
                                         subsequent_indent=indent))
                prose = []
            out.append(indent + line)
        return "\n".join(out).rstrip("\n")

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or action.nargs == 0  # flags: --lesson, --no-core, --help
            or default is None
            or default == argparse.SUPPRESS
            or (isinstance(default, list | tuple) and not default)
        ):
            return text
        return f"{text} (default: %(default)s)".strip()


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str,
    examples: Sequence[str],
) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, a description and ready-to-paste examples."""
    epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=HelpFormatter
    )


# -- the model ---------------------------------------------------------------


def add_model_options(
    parser: argparse.ArgumentParser, *, required: bool, lesson_fallback: bool = False,
    positional_alias: bool = False,
) -> None:
    """``--model FILE`` or ``--lesson``; see :func:`resolve_model`.

    ``lesson_fallback``: leaving both out means the lesson's network (announced on stderr).
    ``positional_alias``: the model file may also come as the old positional argument.
    """
    group = parser.add_mutually_exclusive_group(required=required and not positional_alias)
    fallback = " (default: the lesson's network, announced)" if lesson_fallback else ""
    group.add_argument("--model", type=Path, metavar="FILE",
                       help=f"model file (written by pixelnet train){fallback}")
    group.add_argument("--lesson", action="store_true",
                       help="the lesson's hand-wired 4-4-4-8-4 network instead of a model file")
    if positional_alias:
        parser.add_argument("model_file", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.set_defaults(model_required=required, lesson_fallback=lesson_fallback)


def positional_alias(args: argparse.Namespace, dest: str, flag: str,
                     given: object) -> Path | None:
    """The file given with ``flag`` (value ``given``) or as the old, deprecated positional
    argument ``dest`` (said on stderr); both at once is refused."""
    positional = getattr(args, dest, None)
    if positional is None:
        return given  # type: ignore[return-value]
    if given is not None and given is not False:
        raise PixelnetError(f"give the file once, with {flag} FILE")
    warn(args, f"a positional file is deprecated here: use {flag} {positional}")
    return positional


def model_path(args: argparse.Namespace) -> Path | None:
    """The model file given (``--model`` or the deprecated positional), or None."""
    if getattr(args, "model_file", None) is not None and args.lesson:
        raise PixelnetError("give the model once: --model FILE or --lesson")
    return positional_alias(args, "model_file", "--model", args.model)


def resolve_model(args: argparse.Namespace) -> Model:
    """The model the command works on: ``--model``, ``--lesson``, or the announced fallback."""
    from pixelnet.trainer.lesson import lesson_model
    from pixelnet.trainer.model_file import load_model

    path = model_path(args)
    if path is not None:
        return load_model(path)
    if args.lesson:
        return lesson_model()
    if not args.lesson_fallback:
        raise PixelnetError("give a model file with --model FILE, or --lesson")
    warn(args, "no --model given: using the lesson's hand-wired network")
    return lesson_model()


def warn(args: argparse.Namespace, message: str) -> None:
    """One line on stderr in the usual ``pixelnet COMMAND:`` form (stdout stays clean)."""
    print(f"pixelnet {args.command}: {message}", file=sys.stderr, flush=True)


# -- boards, ports, formats, folders -----------------------------------------


def add_board_option(
    parser: argparse.ArgumentParser, boards: dict[str, str], *, default: str | None = None
) -> None:
    """``--board``, from a table of board name -> what it is (the help lists them)."""
    listing = "; ".join(f"{name}: {what}" for name, what in boards.items())
    parser.add_argument("--board", choices=tuple(boards), default=default,
                        required=default is None, help=f"the board ({listing})")


def add_port_options(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """``--port`` (auto-detected when left out) and ``--baud``; with ``several``, ``--port``
    may be given again and ``--all`` takes every detected board."""
    from pixelnet.host.connect import BAUDRATE

    parser.add_argument(
        "--port", metavar="PORT", action="append" if several else "store",
        help="serial port or pyserial URL (default: auto-detect the one board plugged in "
        "or virtual board running; pixelnet boards lists them)"
        + ("; give it again for more boards, verified at once" if several else ""))
    if several:
        parser.add_argument("--all", action="store_true",
                            help="every board detected (pixelnet boards lists them)")
    parser.add_argument("--baud", type=BAUD_RATE, default=BAUDRATE, help="serial speed in bit/s")


def add_format_option(parser: argparse.ArgumentParser, *, default: str | None = DEFAULT_FORMAT,
                      help: str = "number format of the generated model") -> None:
    """``--format {q7,q15,16x8}`` (dest ``fmt``), in the same order everywhere."""
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default=default, help=help)


def add_build_dir_option(parser: argparse.ArgumentParser, default: Path) -> None:
    """``--build-dir``; ``--out`` is its hidden, deprecated alias where it used to be."""
    parser.add_argument("--build-dir", type=Path, default=default,
                        help="build directory; each board gets a subfolder")


class _DeprecatedAlias(argparse.Action):
    """Stores like the new flag, and says on stderr which flag to use from now on."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        new_flag = "--" + self.dest.replace("_", "-")
        print(f"{parser.prog}: {option_string} is deprecated here: use {new_flag}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, flag: str, dest: str) -> None:
    """An old spelling kept working without being shown in ``--help``."""
    parser.add_argument(flag, dest=dest, type=Path, action=_DeprecatedAlias,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)
