"""`verify --board NAME`: which port holds a board of that kind, and whether the board on a
port says it is one.

The board names are `build`'s and `sim`'s. A virtual board is registered with its name;
a real board on USB is of unknown kind until it answers, so it stays a candidate. The
INFO reply names the board: the AVR boards by their `--board` name, a Cortex-M board by
its chip (cortex-m3: lm3s6965); a MicroPython board by its port (esp32, rp2, …), so
a MicroPython board is any board whose name is none of the others'.
"""

from __future__ import annotations

from pixelnet.firmware.boards import BOARDS
from pixelnet.firmware.build_cortex import CORTEX_BOARDS

from .connect import HandshakeError, PortError, all_candidates
from .registry import running_virtual_boards

MICROPYTHON = "micropython"
# the name INFO reports, for every board whose firmware fixes it
REPORTED_NAMES = {**{name: name for name in BOARDS},
                  **{name: row.reported_name for name, row in CORTEX_BOARDS.items()}}
BOARD_KINDS = (*BOARDS, MICROPYTHON, *CORTEX_BOARDS)


def is_board_of_kind(reported: str, kind: str) -> bool:
    """Whether a board whose INFO names it ``reported`` is a ``kind`` board."""
    if kind == MICROPYTHON:
        return reported not in REPORTED_NAMES.values()
    return REPORTED_NAMES[kind] == reported


def check_board_kind(reported: str, kind: str, where: str) -> None:
    """Stop with one line when the board is not the kind the user named."""
    if not is_board_of_kind(reported, kind):
        raise HandshakeError(f"{where} is a {reported} board, not a {kind}: choose the "
                             "board with --port (pixelnet boards lists them)")


def port_of_kind(kind: str) -> str:
    """The one detected port that may hold a ``kind`` board: the virtual boards registered
    as one, and the boards on USB (checked when they answer)."""
    virtual = {v.port: v.board for v in running_virtual_boards()}
    found = [c for c in all_candidates() if virtual.get(c.device, kind) == kind]
    if not found:
        raise PortError(f"no {kind} board found (pixelnet boards lists what is running); "
                        f"start one with `pixelnet sim --board {kind}`, or give --port")
    if len(found) > 1:
        listed = ", ".join(f"{c.device} ({c.description})" for c in found)
        raise PortError(f"several boards found: {listed}; choose one with --port")
    return found[0].device
