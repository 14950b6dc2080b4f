"""Install the board files (main.py, its modules, the generated model) on a MicroPython board.

The installing is mpremote's mip, from the package.json that
``pixelnet build --board micropython`` writes beside the files
(``python -m mpremote connect PORT mip install --target= DIR/package.json``,
see mip_package.py). One
thing comes first: a running ``main.py`` has Ctrl-C switched off (0x03 is an
ordinary byte inside protocol frames), so mpremote could not stop it. We send
the protocol's RESET and then Ctrl-C until the REPL prompt appears; main.py keeps
Ctrl-C working for its first half second after a reset for exactly this. A board
without our firmware shows the prompt at the first Ctrl-C.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import serial

from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.firmware.virtual_micropython import missing_board_files
from pixelnet.host.frames import encode_frame
from pixelnet.host.messages import Cmd

BAUDRATE = 115200
BREAK_TIMEOUT = 6.0  # s of Ctrl-C until the REPL answers (a reboot takes ~1-2 s)
BREAK_INTERVAL = 0.05  # s between two Ctrl-C
COPY_TIMEOUT = 120.0  # s for mpremote to copy everything
REPL_PROMPTS = (b">>> ", b"raw REPL")


class FlashError(PixelnetError):
    """The files could not be copied to the board."""


def board_files(files_dir: Path) -> list[Path]:
    """The .py (and precompiled .mpy) files to copy; FlashError unless it is a board directory."""
    files_dir = Path(files_dir)
    if not files_dir.is_dir():
        raise FlashError(f"{files_dir}: no such directory of board files")
    missing = missing_board_files(files_dir)
    if missing:
        raise FlashError(
            f"{files_dir}: missing {', '.join(missing)}; build the board files first "
            "(pixelnet build --board micropython)"
        )
    return sorted(p for p in files_dir.iterdir() if p.suffix in (".py", ".mpy"))


def mpremote_command(port: str, package: Path) -> list[str]:
    """mpremote: mip-install the package to the board's root, then reset it to run main.py."""
    if importlib.util.find_spec("mpremote") is None:
        raise ToolMissingError("mpremote is not installed: pip install mpremote")
    return [sys.executable, "-m", "mpremote", "connect", port, "mip", "install", "--target=",
            Path(package).as_posix(), "+", "reset"]


def check_port(port: str) -> None:
    """A local port that does not exist is refused before the board files are built."""
    if port.startswith("/") and not Path(port).exists():
        raise FlashError(f"{port}: no such serial port (is the board plugged in?)")


def _open_port(port: str) -> serial.SerialBase:
    check_port(port)
    try:
        return serial.serial_for_url(port, BAUDRATE, timeout=BREAK_INTERVAL)
    except (serial.SerialException, ValueError) as exc:
        raise FlashError(f"{port}: cannot open the serial port ({exc})") from None


def break_into_repl(port: str) -> None:
    """Stop the pixelnet firmware (RESET, then Ctrl-C in its boot window) at the REPL."""
    ser: serial.SerialBase | None = _open_port(port)
    seen = b""
    deadline = time.monotonic() + BREAK_TIMEOUT
    try:
        ser.write(b"\x00" + encode_frame(Cmd.RESET, 0))
        while time.monotonic() < deadline:
            try:
                if ser is None:
                    ser = serial.serial_for_url(port, BAUDRATE, timeout=BREAK_INTERVAL)
                ser.write(b"\r\x03")
                seen = (seen + ser.read(256))[-256:]
            except (serial.SerialException, OSError):
                # a board with native USB leaves the bus while it reboots: reopen
                if ser is not None:
                    ser.close()
                ser = None
                time.sleep(BREAK_INTERVAL)
                continue
            if any(prompt in seen for prompt in REPL_PROMPTS):
                return
    finally:
        if ser is not None:
            ser.close()
    raise FlashError(
        f"{port}: no MicroPython REPL prompt within {BREAK_TIMEOUT:g} s of Ctrl-C; "
        "is this a MicroPython board? (press its reset button and try again)"
    )


def flash_micropython(files_dir: Path, port: str) -> None:
    """Copy the board files in ``files_dir`` to the MicroPython board on ``port``."""
    from pixelnet.firmware.mip_package import write_mip_package

    board_files(files_dir)  # refuses an incomplete folder
    command = mpremote_command(port, write_mip_package(files_dir))
    break_into_repl(port)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COPY_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise FlashError(f"{port}: mpremote did not finish within {COPY_TIMEOUT:g} s") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise FlashError(f"{port}: mpremote failed: {why[-1] if why else done.returncode}")
