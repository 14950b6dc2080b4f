"""A bad serial line on purpose: a pseudo-terminal proxy that damages bytes at set rates.

``FaultyLine`` sits between a board's port and the host: the host opens
``line.port`` instead of the board's, and every byte in either direction may
be corrupted, dropped, duplicated or followed by an inserted random byte
(``mangle``, pure and seeded). This is how the tests show that the host
never counts a damaged frame, resynchronises, and reports what it lost.

A ``FrameTamper`` goes further than a bad line can: it rewrites whole frames
on their way to the host and re-computes their CRC, so the damage passes every
check of the link. That is how the tests show that the comparison, not the
CRC, catches a board that computes something else. ``tamper_to_board`` does the
same to the host's requests (a board that computes on an input it was not sent).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .frames import Frame, FrameDecoder, encode_frame

POLL = 0.01  # s the proxy thread waits for bytes before checking for close()


@dataclass(frozen=True)
class FaultRates:
    """Per-byte probabilities of each kind of damage."""

    corrupt: float = 0.0  # replaced by a random byte
    drop: float = 0.0  # removed
    duplicate: float = 0.0  # sent twice
    insert: float = 0.0  # a random byte inserted after it

    def __post_init__(self) -> None:
        for name in ("corrupt", "drop", "duplicate", "insert"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} rate {getattr(self, name)} outside [0, 1]")


@dataclass
class FaultCounts:
    bytes: int = 0
    corrupted: int = 0
    dropped: int = 0
    duplicated: int = 0
    inserted: int = 0


def mangle(data: bytes, rates: FaultRates, rng: np.random.Generator,
           counts: FaultCounts | None = None) -> bytes:
    """``data`` after the line's damage; ``counts`` (if given) adds up what was done."""
    n = len(data)
    if n == 0:
        return b""
    arr = np.frombuffer(data, dtype=np.uint8).copy()
    corrupt = rng.random(n) < rates.corrupt
    arr[corrupt] = rng.integers(0, 256, size=int(corrupt.sum()), dtype=np.uint8)
    drop = rng.random(n) < rates.drop
    duplicate = rng.random(n) < rates.duplicate
    insert = rng.random(n) < rates.insert
    repeats = np.where(drop, 0, 1 + duplicate.astype(np.int64))
    extra = rng.integers(0, 256, size=n, dtype=np.uint8)
    pieces, start = [], 0
    for i in np.flatnonzero(insert | (repeats != 1)):  # runs between damaged bytes copy whole
        pieces.append(arr[start:i].tobytes())
        pieces.append(bytes([arr[i]]) * int(repeats[i]))
        if insert[i]:
            pieces.append(bytes([extra[i]]))
        start = i + 1
    pieces.append(arr[start:].tobytes())
    if counts is not None:
        counts.bytes += n
        counts.corrupted += int(corrupt.sum())
        counts.dropped += int(drop.sum())
        counts.duplicated += int((duplicate & ~drop).sum())
        counts.inserted += int(insert.sum())
    return b"".join(pieces)


class FrameTamper:
    """One direction's bytes with each frame passed through ``rewrite`` and re-CRC'd.

    ``rewrite`` gets every frame in order and returns the frame to send instead
    (None: unchanged). Bytes that are not a frame are dropped.
    """

    def __init__(self, rewrite: Callable[[Frame], Frame | None]) -> None:
        self._rewrite = rewrite
        self._decoder = FrameDecoder()

    def feed(self, data: bytes) -> bytes:
        out = []
        for frame in self._decoder.feed(data):
            sent = self._rewrite(frame) or frame
            out.append(encode_frame(sent.type, sent.seq, sent.payload))
        return b"".join(out)


def rewrite_some(
    msg_type: int, chosen: Callable[[int], bool], change: Callable[[Frame], Frame]
) -> FrameTamper:
    """A tamper that changes the frames of one type whose running count (1, 2, ...) is chosen."""
    seen = 0

    def rewrite(frame: Frame) -> Frame | None:
        nonlocal seen
        if frame.type != msg_type:
            return None
        seen += 1
        return change(frame) if chosen(seen) else None

    return FrameTamper(rewrite)


def rewrite_seq(
    msg_type: int, nth: int, change: Callable[[Frame], Frame], first_copy: bool = False
) -> FrameTamper:
    """A tamper that changes the frames of one type carrying the ``nth`` sequence number
    (1, 2, ...) seen among them, whatever was re-sent before: every copy (a request sent
    again and a reply repeated are changed alike, so the change holds whichever copy the
    other side takes), or with ``first_copy`` only the first (so asking again helps)."""
    seqs: list[int] = []
    changed = 0

    def rewrite(frame: Frame) -> Frame | None:
        nonlocal changed
        if frame.type != msg_type:
            return None
        if frame.seq not in seqs:
            seqs.append(frame.seq)
        if seqs.index(frame.seq) != nth - 1 or (first_copy and changed):
            return None
        changed += 1
        return change(frame)

    return FrameTamper(rewrite)


class FaultyLine:
    """A proxy pty between the board's port and the host (see the module docstring)."""

    def __init__(
        self,
        board_port: str,
        to_host: FaultRates = FaultRates(),
        to_board: FaultRates = FaultRates(),
        seed: int = 0,
        tamper: FrameTamper | None = None,
        tamper_to_board: FrameTamper | None = None,
    ) -> None:
        self._board = os.open(board_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._board)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.rates = {"to_host": to_host, "to_board": to_board}
        self.counts = {"to_host": FaultCounts(), "to_board": FaultCounts()}
        self._tampers = {"to_host": tamper, "to_board": tamper_to_board}
        self._rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faulty-line", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        routes = {self._board: ("to_host", self._master), self._master: ("to_board", self._board)}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(routes), [], [], POLL)
            for fd in ready:
                direction, target = routes[fd]
                try:
                    data = os.read(fd, 4096)
                    tamper = self._tampers[direction]
                    if tamper is not None:
                        data = tamper.feed(data)
                    damaged = mangle(data, self.rates[direction], self._rng,
                                     self.counts[direction])
                    os.write(target, damaged)
                except OSError:
                    continue  # the other side closed or restarted: a real line loses bytes too

    def close(self) -> None:
        """Stop the proxy and close its ends: the host sees its port go away."""
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._board, self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> FaultyLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
