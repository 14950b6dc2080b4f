"""Find and open a board's serial port, and check it runs the model we verify against.

Opening a real Uno's port pulls DTR and resets it: the board is silent for
the bootloader's ~1.6 s, then sends its boot INFO. A pseudo-terminal (virtual
board) has no DTR and a late host sees no banner, so ``connect`` waits a short
while for the banner and then asks with INFO (re-sent a bounded number of times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import serial
import serial.tools.list_ports

from pixelnet.errors import PixelnetError

from .client import BoardClient, BoardTimeout, LineTooNoisy
from .messages import PROTOCOL_VERSION, Info
from .registry import running_virtual_boards

BAUDRATE = 115200
BANNER_WAIT = 2.0  # s to wait for a boot INFO after opening (an Uno's DTR reset + bootloader)

# USB vendor:product IDs of the boards pixelnet knows; product None = any of that vendor.
KNOWN_BOARDS: tuple[tuple[int, int | None, str], ...] = (
    (0x2341, 0x0043, "Arduino Uno"),
    (0x2341, 0x0001, "Arduino Uno (old)"),
    (0x2341, 0x0243, "Arduino Uno R3 (16U2)"),
    (0x2341, 0x0058, "Arduino Nano Every"),
    (0x2A03, 0x0043, "Arduino Uno (arduino.org)"),
    (0x1A86, 0x7523, "CH340 USB serial (Uno/Nano clone)"),
    (0x0403, 0x6001, "FTDI USB serial (Nano, Duemilanove)"),
    (0x2E8A, 0x0005, "Raspberry Pi Pico (MicroPython)"),
    (0xF055, 0x9802, "pyboard (MicroPython)"),
    (0x303A, None, "Espressif ESP32 (MicroPython)"),
    (0x10C4, 0xEA60, "CP210x USB serial (ESP32 boards)"),
)

FORMAT_NAMES = {7: "q7", 15: "q15", 0x8F: "16x8"}  # the handshake byte (Format.protocol_id)


class PortError(PixelnetError):
    """No port, several candidate ports, or a port that cannot be opened."""


class HandshakeError(PixelnetError):
    """The board runs another model, protocol or number format than the host expects."""


@dataclass(frozen=True)
class Candidate:
    device: str
    description: str


def known_board(vid: int | None, pid: int | None) -> str | None:
    """The board name for a USB vendor/product ID, or None if pixelnet does not know it."""
    for known_vid, known_pid, name in KNOWN_BOARDS:
        if vid == known_vid and known_pid in (None, pid):
            return name
    return None


def find_candidates(ports: Sequence[Any]) -> list[Candidate]:
    """The ports (``list_ports.comports()`` entries) that look like a pixelnet board."""
    found = []
    for port in ports:
        name = known_board(port.vid, port.pid)
        if name is not None:
            found.append(Candidate(port.device, name))
    return found


def all_candidates(ports: Sequence[Any] | None = None) -> list[Candidate]:
    """Every port that looks like a pixelnet board: known USB IDs, then running virtual boards."""
    if ports is None:
        ports = serial.tools.list_ports.comports()
    virtual = [Candidate(v.port, v.description) for v in running_virtual_boards()]
    return find_candidates(ports) + virtual


def auto_detect(ports: Sequence[Any] | None = None) -> str:
    """The one board's port; PortError when there is none or more than one."""
    found = all_candidates(ports)
    if not found:
        raise PortError(
            "no board found (looked for Arduino, CH340, FTDI, CP210x and MicroPython USB IDs "
            "and for a running `pixelnet sim`); plug one in, start `pixelnet sim --board uno`, "
            "or give --port"
        )
    if len(found) > 1:
        listed = ", ".join(f"{c.device} ({c.description})" for c in found)
        raise PortError(f"several boards found: {listed}; choose one with --port")
    return found[0].device


def open_port(url: str, baudrate: int = BAUDRATE) -> serial.SerialBase:
    """Open a device path or any pyserial URL (loop://, socket://, rfc2217://)."""
    try:
        port = serial.serial_for_url(url, do_not_open=True)
        port.baudrate = baudrate
        port.bytesize, port.parity, port.stopbits = 8, serial.PARITY_NONE, 1
        if "://" not in url:
            port.exclusive = True  # a second program on the same board gets "port busy"
        port.open()
    except (serial.SerialException, ValueError, OSError) as exc:
        raise PortError(f"cannot open {url}: {_reason(exc)}") from exc
    return port


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "busy" in text.lower() or "could not exclusively lock" in text.lower():
        return "port busy (is another program, e.g. a serial monitor, using it?)"
    if "No such file" in text or "Errno 2]" in text:
        return "no such port"
    if "Permission denied" in text or "Errno 13]" in text:
        return "permission denied (on Linux, add yourself to the dialout group and log in again)"
    return text


def connect(port: str | None, baudrate: int = BAUDRATE, **client_args: Any) -> BoardClient:
    """Open the board (``port`` None: auto-detect) and wait until it answers INFO."""
    url = port if port is not None else auto_detect()
    client = BoardClient(open_port(url, baudrate), **client_args)
    try:
        client.wait_for_boot(BANNER_WAIT if _resets_on_open(url) else 0.1)
        try:
            client.info()  # the client re-sends INFO a bounded number of times
        except BoardTimeout as exc:
            raise _unanswered(url, client, exc) from None
        return client
    except BaseException:
        client.close()
        raise


def _unanswered(url: str, client: BoardClient, exc: BoardTimeout) -> BoardTimeout:
    """Why the handshake failed, from what did arrive; ``link`` carries the counters."""
    stats = client.stats
    if isinstance(exc, LineTooNoisy):
        error: BoardTimeout = LineTooNoisy(f"{url}: {exc}")
    elif stats.frames or stats.resyncs:
        error = LineTooNoisy(f"{url}: no intact INFO reply; {client.health.noisy_message()}")
    elif stats.garbage_bytes:
        error = BoardTimeout(
            f"{url}: {stats.garbage_bytes} bytes arrived but no pixelnet frame "
            "(another program on this port, or a --baud the board does not use?)"
        )
    else:
        error = BoardTimeout(f"{url}: no pixelnet board answered (is the firmware flashed?)")
    error.link = stats.to_dict()  # type: ignore[attr-defined]
    return error


def _resets_on_open(url: str) -> bool:
    """USB serial ports reset an Uno on open; URLs and pseudo-terminals do not."""
    return "://" not in url and not url.startswith("/dev/pts/")


def check_handshake(
    info: Info, model_hash: str, fmt: str | None = None, where: str = "board"
) -> None:
    """Stop with one line naming both sides when the board is not what we verify against."""
    if info.proto != PROTOCOL_VERSION:
        raise HandshakeError(
            f"{where} speaks protocol version {info.proto}, this pixelnet speaks "
            f"{PROTOCOL_VERSION}: update the firmware or pixelnet"
        )
    if info.model_hash != model_hash:
        raise HandshakeError(
            f"{where} runs model {info.model_hash}, the model file is {model_hash}: "
            "build and flash this model, or pass the model the board runs"
        )
    board_fmt = FORMAT_NAMES.get(info.format, f"format {info.format}")
    if fmt is not None and board_fmt != fmt:
        raise HandshakeError(f"{where} computes in {board_fmt}, expected {fmt}")
