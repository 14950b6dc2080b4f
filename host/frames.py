"""Framing of the serial protocol (firmware/PROTOCOL.md): COBS + CRC-16, 0x00-delimited.

Pure byte logic, no I/O: ``encode_frame`` builds wire bytes, ``FrameDecoder``
turns any byte stream (garbage included) into checked frames and counts what
it had to throw away.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAYLOAD = 60
MIN_BODY = 4  # type, seq, crc16
MAX_BODY = 2 + MAX_PAYLOAD + 2
MAX_WIRE = MAX_BODY + 2  # one COBS overhead byte + the 0x00 delimiter


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection (check 0x29B1)."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


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
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            return None
        block = data[i + 1 : end]
        if 0 in block:
            return None
        out += block
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


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
        frames: list[Frame] = []
        for byte in data:
            if byte != 0:
                if self._overflow:
                    self.stats.garbage_bytes += 1
                elif len(self._buf) >= MAX_WIRE - 1:
                    self._overflow = True
                    self.stats.too_long += 1
                    self.stats.garbage_bytes += len(self._buf) + 1
                    self._buf.clear()
                else:
                    self._buf.append(byte)
                continue
            if self._overflow:
                self._overflow = False
            elif self._buf:
                frame = self._finish(bytes(self._buf))
                if frame is not None:
                    frames.append(frame)
            self._buf.clear()
        return frames

    def _finish(self, wire: bytes) -> Frame | None:
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
