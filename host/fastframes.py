"""Decode a whole recorded byte stream of fixed-length frames at once, with NumPy.

The scalar ``FrameDecoder`` (host/frames.py) handles one frame at a time in
Python. A stream of SAMPLE frames is a run of frames of one length, so their
COBS decoding (a chain of code bytes, followed for every frame in parallel) and
their CRC-16 (table-driven, one byte column at a time for every frame) vectorise
over the frames. Every check of the scalar path stays: each segment between
delimiters that is not of the fixed length goes through the scalar decoder's
own rules, and the counts (good frames, bad CRC, bad COBS, too long, garbage
bytes) come out equal to ``FrameDecoder``'s on the same bytes — tested on
damaged streams.

The layout is a parameter (``FixedLayout``): the message type and the payload's
NumPy record type, so another fixed-length frame (a compact SAMPLE) decodes the
same way. Pure: bytes in, arrays and counts out.
"""

from __future__ import annotations

import binascii
import functools
from dataclasses import dataclass, field

import numpy as np

from .frames import MAX_WIRE, DecoderStats, Frame, FrameDecoder
from .messages import MAX_SEQ_GAP

# CRC-16/CCITT-FALSE, one table entry per byte value: crc16 of that byte from 0 (host/frames.py)
CRC_TABLE = np.array([binascii.crc_hqx(bytes((b,)), 0) for b in range(256)], dtype=np.uint16)


@dataclass(frozen=True)
class FixedLayout:
    """A frame whose payload always has the same size: its type and payload record."""

    msg_type: int
    payload: np.dtype

    @property
    def body_len(self) -> int:
        return 2 + self.payload.itemsize + 2  # type, seq, payload, crc16

    @property
    def wire_len(self) -> int:
        """COBS adds one byte to a body shorter than 254 bytes; the 0x00 not counted."""
        if self.body_len >= 254:
            raise ValueError("a fixed-length frame body must be shorter than 254 bytes")
        return self.body_len + 1


@dataclass
class DecodedStream:
    """The good fixed-length frames of ``layout.msg_type`` in stream order (``seq``,
    ``payload`` records), every other good frame, and the decoder's counts."""

    seq: np.ndarray
    payload: np.ndarray
    others: list[Frame] = field(default_factory=list)
    stats: DecoderStats = field(default_factory=DecoderStats)
    tail: bytes = b""  # bytes after the last delimiter: a frame still arriving


def cobs_decode_rows(wire: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COBS-decode every row of ``wire`` [n, L] (no 0x00 in it): the bodies [n, L - 1] and
    which rows were valid COBS (the code chain ends exactly at the row's end)."""
    n, length = wire.shape
    rows = np.arange(n)
    pos = np.zeros(n, dtype=np.int64)
    zero_at = np.zeros((n, length), dtype=bool)
    active = pos < length
    while active.any():
        nxt = pos[active] + wire[rows[active], pos[active]]
        inside = nxt < length
        zero_at[rows[active][inside], nxt[inside]] = True
        pos[active] = nxt
        active = pos < length
    body = np.where(zero_at[:, 1:], 0, wire[:, 1:]).astype(np.uint8)
    return body, pos == length


@functools.cache
def _crc_table16() -> np.ndarray:
    """crc16 of every pair of bytes from 0: two bytes shift the whole 16-bit register out,
    so one lookup of (crc ^ pair) advances the CRC by two bytes."""
    pairs = np.arange(1 << 16, dtype=np.uint32)
    hi = CRC_TABLE[pairs >> 8]  # the first byte from 0, then the second
    return ((hi.astype(np.uint32) << 8) & 0xFFFF ^ CRC_TABLE[(hi >> 8) ^ (pairs & 0xFF)]
            ).astype(np.uint16)


def crc16_rows(data: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE of every row of ``data`` [n, m], table-driven over the columns,
    two at a time."""
    crc = np.full(len(data), 0xFFFF, dtype=np.uint16)
    if data.shape[1] % 2:
        crc = (crc << 8) ^ CRC_TABLE[(crc >> 8) ^ data[:, 0]]
        data = data[:, 1:]
    table = _crc_table16()
    words = (data[:, 0::2].astype(np.uint16) << 8) | data[:, 1::2]
    for column in words.T:
        crc = table[crc ^ column]
    return crc


def decode_stream(data: bytes, layout: FixedLayout) -> DecodedStream:
    """Every frame completed in ``data`` (a stream read from its start), as the scalar
    ``FrameDecoder`` would count and check it."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 0)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    fixed = lengths == layout.wire_len
    stats = DecoderStats()

    windows = np.lib.stride_tricks.sliding_window_view(buf, layout.wire_len) if len(buf) >= \
        layout.wire_len else np.zeros((0, layout.wire_len), dtype=np.uint8)
    wire = windows[starts[fixed]]  # a copy of the frames only, no index matrix
    body, cobs_ok = cobs_decode_rows(wire)
    crc_ok = crc16_rows(body[:, :-2]) == (body[:, -2].astype(np.uint16)
                                          | (body[:, -1].astype(np.uint16) << 8))
    good = cobs_ok & crc_ok
    stats.bad_frame += int(np.count_nonzero(~cobs_ok))
    stats.bad_crc += int(np.count_nonzero(cobs_ok & ~crc_ok))
    stats.garbage_bytes += int(np.count_nonzero(~good)) * layout.wire_len
    stats.frames += int(np.count_nonzero(good))
    ours = good & (body[:, 0] == layout.msg_type)

    others = [Frame(int(b[0]), int(b[1]), bytes(b[2:-2])) for b in body[good & ~ours]]
    others += _scalar_segments(buf, starts[~fixed], lengths[~fixed], stats)
    payload = np.ascontiguousarray(body[ours, 2:-2]).view(layout.payload).ravel()
    tail = bytes(buf[ends[-1] + 1 :]) if len(ends) else bytes(buf)
    return DecodedStream(body[ours, 1].astype(np.int64), payload, others, stats, tail)


def _scalar_segments(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                     stats: DecoderStats) -> list[Frame]:
    """The segments of other lengths, through the scalar decoder's rules, into ``stats``."""
    decoder = FrameDecoder()
    frames = []
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        if length == 0:
            continue
        if length > MAX_WIRE - 1:
            stats.too_long += 1
            stats.garbage_bytes += length
            continue
        frame = decoder.finish(bytes(buf[start : start + length]))
        if frame is not None:
            frames.append(frame)
    for name in ("frames", "bad_crc", "bad_frame", "garbage_bytes"):
        setattr(stats, name, getattr(stats, name) + getattr(decoder.stats, name))
    return frames


@dataclass(frozen=True)
class SequenceCounts:
    """The stream counter's story, as ``BoardClient`` tells it for stream samples."""

    kept: np.ndarray  # bool per frame: not a repeat of the previous one
    seq_gaps: int
    missed_samples: int
    duplicates: int
    seq_jumps: int


def sequence_counts(seq: np.ndarray) -> SequenceCounts:
    """Repeats (the same counter twice in a row) dropped; forward steps of 2..MAX_SEQ_GAP
    (modulo 256, as the 8-bit counter wraps) counted as gaps with the samples they lost;
    any other step, backwards or further ahead, counted as a jump that lost nothing known."""
    step = (np.diff(seq) & 0xFF) if len(seq) else np.zeros(0, dtype=np.int64)
    repeat = step == 0
    jump = step > MAX_SEQ_GAP
    gap = ~repeat & ~jump & (step != 1)
    return SequenceCounts(
        kept=np.concatenate(([True], ~repeat)) if len(seq) else np.zeros(0, dtype=bool),
        seq_gaps=int(np.count_nonzero(gap)),
        missed_samples=int((step[gap] - 1).sum()),
        duplicates=int(np.count_nonzero(repeat)),
        seq_jumps=int(np.count_nonzero(jump)),
    )
