"""Put the Uno firmware on a board with avrdude (Optiboot speaks STK500: programmer `arduino`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pixelnet.errors import PixelnetError, ToolMissingError

AVRDUDE_BAUD = 115200
AVRDUDE_PART = "atmega328p"
AVRDUDE_PROGRAMMER = "arduino"


class FlashError(PixelnetError):
    """The port or the firmware is missing, or avrdude failed."""


def avrdude_command(avrdude: str, port: str, hex_file: Path) -> list[str]:
    """The avrdude invocation, kept pure so it can be checked without a board.

    ``-D`` as in the Arduino IDE: Optiboot erases each page as it writes it.
    """
    return [
        avrdude, "-c", AVRDUDE_PROGRAMMER, "-p", AVRDUDE_PART, "-b", str(AVRDUDE_BAUD),
        "-P", port, "-D", "-U", f"flash:w:{hex_file}:i",
    ]


def check_flash_tools(port: str) -> str:
    """avrdude's path, once it and the port are known to exist (checked before building)."""
    avrdude = shutil.which("avrdude")
    if avrdude is None:
        raise ToolMissingError("avrdude not found on PATH; install it (Debian: avrdude)")
    if not Path(port).exists():
        raise FlashError(f"serial port {port} does not exist; is the board plugged in?")
    return avrdude


def flash_uno(hex_file: Path, port: str) -> None:
    """Write ``hex_file`` to the Uno on ``port``; avrdude's own output goes to the terminal."""
    avrdude = check_flash_tools(port)
    hex_file = Path(hex_file)
    if not hex_file.is_file():
        raise FlashError(f"no firmware at {hex_file}; run `pixelnet build --board uno` first")
    result = subprocess.run(avrdude_command(avrdude, port, hex_file), check=False)
    if result.returncode != 0:
        raise FlashError(f"avrdude failed (exit {result.returncode}) writing {hex_file} to {port}")
