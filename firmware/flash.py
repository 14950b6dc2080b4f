"""Put the firmware on an AVR board with avrdude, as the board table says (firmware/boards.py).

Each bootloader has its avrdude programmer: Optiboot on the Uno and the Nano speaks
STK500 (`arduino`), the Mega's stk500v2 bootloader is `wiring`, the Leonardo's
Caterina is `avr109`. A Nano may carry the new bootloader (115,200 baud) or the old
one (57,600): the table lists both, and ``flash_board`` tries them in order.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.firmware.boards import Board, board_row


class FlashError(PixelnetError):
    """The port or the firmware is missing, or avrdude failed."""


def avrdude_command(avrdude: str, port: str, hex_file: Path, board: Board | None = None,
                    baud: int | None = None) -> list[str]:
    """The avrdude invocation for ``board`` (default the Uno) at ``baud`` (default the
    board's first), kept pure so it can be checked without a board.

    ``-D`` as in the Arduino IDE: the bootloader erases each page as it writes it.
    """
    row = board or board_row("uno")
    return [
        avrdude, "-c", row.avrdude_programmer, "-p", row.avrdude_part, "-b",
        str(baud or row.upload_bauds[0]), "-P", port, "-D", "-U", f"flash:w:{hex_file}:i",
    ]


def check_flash_tools(port: str) -> str:
    """avrdude's path, once it and the port are known to exist (checked before building)."""
    avrdude = shutil.which("avrdude")
    if avrdude is None:
        raise ToolMissingError("avrdude not found on PATH; install it (Debian: avrdude)")
    if not Path(port).exists():
        raise FlashError(f"serial port {port} does not exist; is the board plugged in?")
    return avrdude


def _run_avrdude(command: list[str]) -> int:
    return subprocess.run(command, check=False).returncode


def flash_board(hex_file: Path, port: str, board: str = "uno",
                run: Callable[[list[str]], int] = _run_avrdude) -> int:
    """Write ``hex_file`` to ``board`` on ``port``, trying each of the board's upload baud
    rates until avrdude succeeds; returns the baud rate that worked. avrdude's own output
    goes to the terminal."""
    row = board_row(board)
    avrdude = check_flash_tools(port)
    hex_file = Path(hex_file)
    if not hex_file.is_file():
        raise FlashError(f"no firmware at {hex_file}; run `pixelnet build --board {board}` first")
    codes = []
    for baud in row.upload_bauds:
        code = run(avrdude_command(avrdude, port, hex_file, row, baud))
        if code == 0:
            return baud
        codes.append(f"exit {code} at {baud} baud")
    raise FlashError(f"avrdude failed ({', '.join(codes)}) writing {hex_file} to the "
                     f"{row.title} on {port}")


def flash_uno(hex_file: Path, port: str) -> None:
    """Write ``hex_file`` to the Uno on ``port``."""
    flash_board(hex_file, port, "uno")
