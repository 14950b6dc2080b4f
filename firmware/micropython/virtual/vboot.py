# pixelnet virtual board: run the real main.py on the MicroPython unix port
# with vmachine standing in for `machine`. The host side starts this script
# with the board's files on MICROPYPATH, the board's filesystem as the current
# directory and the scene FIFO in PIXELNET_SIM_CONTROL.
import os
import sys

import vmachine

vmachine.scene.attach(os.getenv("PIXELNET_SIM_CONTROL"), os.getenv("PIXELNET_SIM_REALTIME") == "1")
sys.modules["machine"] = vmachine
try:
    import main  # noqa: F401  (runs the firmware)
except Exception as exc:  # to the board's log, not onto its serial line
    sys.print_exception(exc, sys.stderr)
    sys.exit(1)
