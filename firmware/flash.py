"""Put the firmware on an AVR board with avrdude, as the board table says (firmware/boards.py).

Each bootloader has its avrdude programmer: Optiboot on the Uno and the Nano speaks
STK500 (`arduino`), the Mega's stk500v2 bootloader is `wiring`, the Leonardo's
Caterina is `avr109`. A Nano may carry the new bootloader (115,200 baud) or the old
one (57,600): the table lists both, and ``flash_board`` tries them in order.

A Leonardo's serial port is the sketch's own USB device, with no bootloader behind
it: as the Arduino IDE does, the port is opened at 1,200 baud and closed, the chip
restarts into Caterina, which shows up as a USB serial port for 8 s (often under
another name), and avrdude writes to that port.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.firmware.boards import Board, board_row

TOUCH_BAUD = 1200  # the baud rate whose port-close restarts a native-USB board to its bootloader
BOOTLOADER_WAIT = 10.0  # s for the bootloader's port to appear (Caterina stays 8 s)
PORT_POLL = 0.25  # s between two looks at the list of serial ports
SAME_PORT_AFTER = 0.5  # s after which the old port's name counts as the bootloader's


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


def _serial_ports() -> list[str]:
    from serial.tools import list_ports

    return [info.device for info in list_ports.comports()]


def _touch_1200bps(port: str) -> None:
    """Open ``port`` at 1,200 baud and close it: the sketch's USB stack restarts the chip."""
    import serial

    try:
        with serial.Serial(port, TOUCH_BAUD) as line:
            line.dtr = False
    except (serial.SerialException, OSError) as exc:
        raise FlashError(f"cannot open {port} to restart the board into its bootloader "
                         f"({exc})") from None


def bootloader_port(port: str, list_ports: Callable[[], list[str]] = _serial_ports,
                    touch: Callable[[str], None] = _touch_1200bps,
                    sleep: Callable[[float], None] = time.sleep) -> str:
    """Restart the native-USB board on ``port`` into its bootloader; the bootloader's port.

    The Arduino IDE's rule: the first port that was not listed a moment before (the board
    leaves and comes back), or, once the board has had time to leave, ``port`` itself."""
    before = list_ports()
    touch(port)
    waited = 0.0
    while waited < BOOTLOADER_WAIT:
        sleep(PORT_POLL)
        waited += PORT_POLL
        now = list_ports()
        appeared = [p for p in now if p not in before]
        if appeared:
            return appeared[0]
        if waited >= SAME_PORT_AFTER and port in now:
            return port
        before = now
    raise FlashError(f"no bootloader port appeared within {BOOTLOADER_WAIT:g} s after the "
                     f"1200-baud touch on {port}; press the board's reset button and flash "
                     "again at once")


def flash_board(hex_file: Path, port: str, board: str = "uno",
                run: Callable[[list[str]], int] = _run_avrdude,
                enter_bootloader: Callable[[str], str] = bootloader_port) -> int:
    """Write ``hex_file`` to ``board`` on ``port``, trying each of the board's upload baud
    rates until avrdude succeeds; returns the baud rate that worked. A native-USB board is
    first restarted into its bootloader (``enter_bootloader``), whose port avrdude writes
    to. avrdude's own output goes to the terminal."""
    row = board_row(board)
    avrdude = check_flash_tools(port)
    hex_file = Path(hex_file)
    if not hex_file.is_file():
        raise FlashError(f"no firmware at {hex_file}; run `pixelnet build --board {board}` first")
    if row.touch_1200bps:
        port = enter_bootloader(port)
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
