"""The installed `pixelnet` command, hearing Ctrl-C from its first line on.

The console script imports this module, which needs nothing but ``sys``, and calls
``run``: the command line itself (argparse, every subcommand) is imported inside the
handling that turns Ctrl-C into one line and exit code 130. Only the interpreter's
own start-up comes before it.
"""

import sys

EXIT_INTERRUPTED = 130


def run() -> int:
    try:
        from pixelnet.cli import main
    except KeyboardInterrupt:
        print("pixelnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return main()
