"""Framing of the serial protocol (firmware/PROTOCOL.md): COBS + CRC-16, 0x00-delimited.

Pure byte logic, no I/O: ``encode_frame`` builds wire bytes, ``FrameDecoder``
turns any byte stream (garbage included) into checked frames and counts what
it had to throw away.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

MAX_PAYLOAD = 60
MIN_BODY = 4  # type, seq, crc16
MAX_BODY = 2 + MAX_PAYLOAD + 2
MAX_WIRE = MAX_BODY + 2  # one COBS overhead byte + the 0x00 delimiter


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection (check 0x29B1).

    ``binascii.crc_hqx`` is exactly this CRC (the XMODEM polynomial, unreflected)
    computed in C: the host's parser must never be the bottleneck.
    """
    return binascii.crc_hqx(data, crc)


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data``: the result holds no 0x00 byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes | None:
    """Inverse of ``cobs_encode``; None when ``data`` is not valid COBS."""
    if 0 in data:
        return None
    out = []
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            return None
        out.append(data[i + 1 : end])
        if code != 255 and end < n:
            out.append(b"\x00")
        i = end
    return b"".join(out)


@dataclass(frozen=True)
class Frame:
    """One checked frame: message type, sequence number and payload."""

    type: int
    seq: int
    payload: bytes


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Wire bytes for one frame, delimiter included."""
    if not 0 <= msg_type <= 255 or not 0 <= seq <= 255:
        raise ValueError("type and seq are single bytes")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = bytes((msg_type, seq)) + bytes(payload)
    crc = crc16(head)
    return cobs_encode(head + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


@dataclass
class DecoderStats:
    """What the decoder threw away, for the host's fault report."""

    frames: int = 0
    bad_crc: int = 0
    bad_frame: int = 0  # invalid COBS or too short
    too_long: int = 0
    garbage_bytes: int = 0  # bytes in discarded frames


class FrameDecoder:
    """Incremental decoder: feed any bytes, get back only frames whose CRC checks.

    A frame longer than ``MAX_WIRE`` is dropped up to the next delimiter, so a
    stream of garbage costs bounded memory.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.stats = DecoderStats()

    def feed(self, data: bytes) -> list[Frame]:
        """Every good frame completed by ``data`` (split at delimiters, not byte by byte)."""
        frames: list[Frame] = []
        *complete, tail = bytes(data).split(b"\x00")
        for segment in complete:
            self._absorb(segment)
            if self._overflow:
                self._overflow = False
            elif self._buf:
                frame = self.finish(bytes(self._buf))
                if frame is not None:
                    frames.append(frame)
            self._buf.clear()
        self._absorb(tail)
        return frames

    @property
    def partial(self) -> bool:
        """Whether bytes of an unfinished frame are waiting for their delimiter."""
        return bool(self._buf) or self._overflow

    def drop_partial(self) -> None:
        """Give up on an unfinished frame (the line went quiet mid-frame: its end was lost)."""
        if self._buf and not self._overflow:
            self.stats.bad_frame += 1
            self.stats.garbage_bytes += len(self._buf)
        self._buf.clear()
        self._overflow = False

    def _absorb(self, part: bytes) -> None:
        """Add bytes of the current frame, dropping it once it is longer than any frame."""
        if self._overflow:
            self.stats.garbage_bytes += len(part)
        elif len(self._buf) + len(part) > MAX_WIRE - 1:
            self._overflow = True
            self.stats.too_long += 1
            self.stats.garbage_bytes += len(self._buf) + len(part)
            self._buf.clear()
        else:
            self._buf += part

    def finish(self, wire: bytes) -> Frame | None:
        """The frame in one delimited segment ``wire`` if its COBS, length and CRC check;
        None (and counted) otherwise."""
        body = cobs_decode(wire)
        if body is None or len(body) < MIN_BODY or len(body) > MAX_BODY:
            self.stats.bad_frame += 1
            self.stats.garbage_bytes += len(wire)
            return None
        crc = body[-2] | (body[-1] << 8)
        if crc16(body[:-2]) != crc:
            self.stats.bad_crc += 1
            self.stats.garbage_bytes += len(wire)
            return None
        self.stats.frames += 1
        return Frame(body[0], body[1], bytes(body[2:-2]))
