import sys

from pixelnet.cli import main

sys.exit(main())
