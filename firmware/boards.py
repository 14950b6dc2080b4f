"""The board table: every Arduino board pixelnet builds, simulates and flashes.

One row per board, read by `build` (compiler flags, core variant), `sim` (which
simavr MCU and clock, or none), `flash` (avrdude programmer, part and the baud
rates to try in order) and the Arduino-library tests (the fqbn arduino-builder
takes). A new board is a row here (and, for a new chip family, a hooks file
beside firmware/arduino/pixelnet_uno/pn_hw.h), never a second copy of the code.
The MicroPython boards are described in firmware/micropython/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixelnet.errors import PixelnetError


@dataclass(frozen=True)
class Board:
    name: str  # what --board takes
    title: str  # for people
    fqbn: str  # arduino-builder / arduino-cli board id
    mcu: str  # avr-gcc -mmcu, simavr's MCU name
    f_cpu: int  # Hz
    variant: str  # the Arduino core's variants/ folder (pin names A0..A3)
    define: str  # the core's ARDUINO_<board> macro
    avrdude_programmer: str  # avrdude -c
    avrdude_part: str  # avrdude -p
    upload_bauds: tuple[int, ...]  # tried in order until one answers
    flash_max: int  # bytes for the sketch (the bootloader's share taken off)
    ram_max: int  # bytes of SRAM
    simulated: bool  # runs in simavr as a virtual board
    usb_defines: tuple[str, ...] = ()  # native-USB chips: the core's USB descriptor
    touch_1200bps: bool = False  # opening the port at 1,200 baud starts the bootloader
    note: str = ""


BOARDS: dict[str, Board] = {
    board.name: board
    for board in (
        Board("uno", "Arduino Uno", "arduino:avr:uno", "atmega328p", 16_000_000, "standard",
              "ARDUINO_AVR_UNO", "arduino", "atmega328p", (115200,), 32_256, 2048, simulated=True),
        # Nanos sold before 2018 (and most clones) carry the old bootloader at 57,600 baud
        Board("nano", "Arduino Nano", "arduino:avr:nano:cpu=atmega328", "atmega328p",
              16_000_000, "eightanaloginputs", "ARDUINO_AVR_NANO", "arduino", "atmega328p",
              (115200, 57600), 30_720, 2048, simulated=True),
        # the Mega's stk500v2 bootloader: avrdude calls that programmer `wiring`
        Board("mega", "Arduino Mega 2560", "arduino:avr:mega:cpu=atmega2560", "atmega2560",
              16_000_000, "mega", "ARDUINO_AVR_MEGA2560", "wiring", "atmega2560", (115200,),
              253_952, 8192, simulated=True),
        Board("leonardo", "Arduino Leonardo / Micro", "arduino:avr:leonardo", "atmega32u4",
              16_000_000, "leonardo", "ARDUINO_AVR_LEONARDO", "avr109", "atmega32u4", (57600,),
              28_672, 2560, simulated=False,
              usb_defines=("-DUSB_VID=0x2341", "-DUSB_PID=0x8036",
                           '-DUSB_MANUFACTURER="Unknown"', '-DUSB_PRODUCT="Arduino Leonardo"'),
              touch_1200bps=True,
              note="serial over native USB (CDC); simavr has no USB device, so no virtual "
                   "Leonardo"),
    )
}


def board_row(name: str) -> Board:
    """The row for ``name``; a PixelnetError naming the known boards otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise PixelnetError(
            f"unknown board {name!r}; choose one of {', '.join(BOARDS)}"
        ) from None


def simulated_boards() -> tuple[str, ...]:
    """The Arduino boards that run in simavr."""
    return tuple(name for name, row in BOARDS.items() if row.simulated)
