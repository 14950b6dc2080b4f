import sys

from pixelnet.command import run

sys.exit(run())
