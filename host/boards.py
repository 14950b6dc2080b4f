"""`pixelnet boards`: every board pixelnet can see, real or virtual, and what each runs.

Each candidate port (a known USB ID, or a running `pixelnet sim`) is asked for INFO
with a short deadline, so a silent or busy port costs about a second and is listed
with the reason instead of holding up the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from pixelnet.errors import PixelnetError
from pixelnet.table import aligned

from .connect import FORMAT_NAMES, Candidate, all_candidates, connect
from .messages import Info

PROBE_REPLY_TIMEOUT = 0.4  # s before INFO is re-sent to a port being listed
PROBE_RETRIES = 2  # re-sends before the port is listed as not answering


@dataclass(frozen=True)
class Listing:
    """One row of `pixelnet boards`: the port, what it looked like, and what it answered."""

    candidate: Candidate
    info: Info | None
    problem: str | None = None


def probe(candidate: Candidate) -> Listing:
    """Ask the board on ``candidate`` for INFO; a port that does not answer says why."""
    try:
        with connect(candidate.device, reply_timeout=PROBE_REPLY_TIMEOUT,
                     retries=PROBE_RETRIES) as client:
            return Listing(candidate, client.last_info)
    except PixelnetError as exc:
        return Listing(candidate, None, str(exc))


def list_boards() -> list[Listing]:
    """Every candidate port, probed."""
    return [probe(c) for c in all_candidates()]


def format_listing(listings: list[Listing]) -> str:
    """The table `pixelnet boards` prints (and a line saying how to get a board if none)."""
    if not listings:
        return ("no board found: plug one in, or start a virtual one with "
                "`pixelnet sim --board uno`")
    rows = [["PORT", "KIND", "BOARD", "FIRMWARE", "FORMAT", "MODEL"]]
    for item in listings:
        info = item.info
        if info is None:
            rows.append([item.candidate.device, item.candidate.description,
                         f"no answer: {item.problem}", "", "", ""])
            continue
        rows.append([
            item.candidate.device, item.candidate.description, info.board,
            ".".join(map(str, info.firmware)) + f" (protocol {info.proto})",
            FORMAT_NAMES.get(info.format, str(info.format)), info.model_hash,
        ])
    return "\n".join(aligned(rows, left=6))
