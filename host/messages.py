"""Message types and payload layouts of the serial protocol (firmware/PROTOCOL.md).

Pure packing and unpacking; ``ProtocolError`` for a payload that does not fit
its type, so a frame with a good CRC but a wrong layout is never trusted.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from pixelnet.errors import PixelnetError

from .frames import MAX_PAYLOAD

PROTOCOL_VERSION = 1  # what INFO's proto byte says, on version 2 boards too (see PROTOCOL.md)
PROTOCOL_V2 = 2
INFO_FLAG_BOOT = 0x01
INFO_FLAG_V2 = 0x02  # the board speaks the version 2 additions: BAUD, compact frames, batches
N_ADC = 4
ADC_BITS = 10
COMPACT_ADC_BYTES = (N_ADC * ADC_BITS + 7) // 8  # four 10-bit counts in 5 bytes
DEFAULT_BAUD = 115200
FAST_BAUDS = (250_000, 500_000, 1_000_000)  # exact at 16 MHz with U2X (UBRR 7, 3, 1)


class Cmd(IntEnum):
    INFO = 0x01
    STREAM = 0x02
    INFER = 0x03
    INFER_RAW = 0x04
    TRACE = 0x05
    CALIBRATE = 0x06
    AVERAGE = 0x07
    RESET = 0x08
    SAMPLE = 0x09
    BAUD = 0x0A  # version 2
    INFER_BATCH = 0x0B  # version 2


class Msg(IntEnum):
    ACK = 0x80
    INFO = 0x81
    CAL = 0x82
    RESULT = 0x84
    SAMPLE = 0x85
    TRACE = 0x86
    SAMPLE_COMPACT = 0x87  # version 2
    RESULTS = 0x88  # version 2
    ERROR = 0xE0


class ErrorCode(IntEnum):
    BAD_CRC = 1
    BAD_FRAME = 2
    TOO_LONG = 3
    UNKNOWN = 4
    BAD_LENGTH = 5
    BAD_ARG = 6
    STORAGE = 7


class CalOp(IntEnum):
    DARK = 0
    BRIGHT = 1
    RESET = 2
    SET = 3


STREAM_MAX_RATE = 0xFFFF
# The longest forward step of the 8-bit stream counter read as lost samples: a step
# further ahead, or backwards, is a jump (a damaged counter with a good CRC, or a restart
# whose boot INFO was lost), never 200-odd "missed" samples; see PROTOCOL.md.
MAX_SEQ_GAP = 32
CAL_SOURCES = ("default", "stored", "session")


class ProtocolError(PixelnetError):
    """A frame whose CRC checked but whose payload does not match its type."""


@dataclass(frozen=True)
class Calibration:
    dark: tuple[int, int, int, int]
    bright: tuple[int, int, int, int]
    source: int = 0

    @property
    def source_name(self) -> str:
        return CAL_SOURCES[self.source] if self.source < len(CAL_SOURCES) else str(self.source)


DEFAULT_CALIBRATION = Calibration((0, 0, 0, 0), (1023, 1023, 1023, 1023), 0)


@dataclass(frozen=True)
class Info:
    proto: int
    boot: bool
    firmware: tuple[int, int, int]
    format: int
    n_in: int
    n_out: int
    n_layers: int
    averaging: int
    model_hash: str  # 16 hex digits
    calibration: Calibration
    board: str
    v2: bool = False  # INFO_FLAG_V2: the board speaks the version 2 additions

    @property
    def protocol(self) -> int:
        """The highest protocol version both this host and the board speak."""
        return PROTOCOL_V2 if self.v2 else self.proto

    @property
    def value_bytes(self) -> int:
        """Bytes of one input or output value in compact frames: int8 for q7, int16 above."""
        return 1 if self.format <= 7 else 2


@dataclass(frozen=True)
class Sample:
    """A RESULT or SAMPLE payload: what the board read, used and computed."""

    adc: tuple[int, ...]
    x: tuple[int, ...]
    out: tuple[int, ...]
    cls: int


@dataclass(frozen=True)
class TraceLayer:
    layer: int
    act: tuple[int, ...]


@dataclass(frozen=True)
class BoardError:
    code: int
    cmd: int

    @property
    def name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"code {self.code}"


_INFO_HEAD = struct.Struct("<BB3BBBBBB8s4H4HB")


def pack_info(info: Info) -> bytes:
    cal = info.calibration
    flags = (INFO_FLAG_BOOT if info.boot else 0) | (INFO_FLAG_V2 if info.v2 else 0)
    return _INFO_HEAD.pack(
        info.proto, flags, *info.firmware, info.format, info.n_in, info.n_out,
        info.n_layers, info.averaging, bytes.fromhex(info.model_hash), *cal.dark, *cal.bright,
        cal.source,
    ) + info.board.encode("ascii")


def unpack_info(payload: bytes) -> Info:
    if len(payload) < _INFO_HEAD.size:
        raise ProtocolError(f"INFO payload of {len(payload)} bytes, expected ≥ {_INFO_HEAD.size}")
    f = _INFO_HEAD.unpack_from(payload)
    board = payload[_INFO_HEAD.size :].decode("ascii", errors="replace")
    return Info(
        proto=f[0], boot=bool(f[1] & 1), firmware=(f[2], f[3], f[4]), format=f[5], n_in=f[6],
        n_out=f[7], n_layers=f[8], averaging=f[9], model_hash=f[10].hex(),
        calibration=Calibration(tuple(f[11:15]), tuple(f[15:19]), f[19]), board=board,
        v2=bool(f[1] & INFO_FLAG_V2),
    )


_CAL = struct.Struct("<4H4HB")


def pack_calibration(cal: Calibration) -> bytes:
    return _CAL.pack(*cal.dark, *cal.bright, cal.source)


def unpack_calibration(payload: bytes) -> Calibration:
    if len(payload) != _CAL.size:
        raise ProtocolError(f"CAL payload of {len(payload)} bytes, expected {_CAL.size}")
    f = _CAL.unpack(payload)
    return Calibration(tuple(f[0:4]), tuple(f[4:8]), f[8])


def sample_size(n_in: int, n_out: int) -> int:
    return 2 * N_ADC + 2 * n_in + 2 * n_out + 1


def sample_dtype(n_in: int, n_out: int) -> np.dtype:
    """The SAMPLE payload layout as a NumPy record (fields adc, x, out, cls): the one
    definition that ``pack_sample``/``unpack_sample`` (through ``_sample_format``) and the
    host's vectorised decoder (host/fastframes.py) both read."""
    return np.dtype([("adc", "<u2", (N_ADC,)), ("x", "<i2", (n_in,)), ("out", "<i2", (n_out,)),
                     ("cls", "u1")])


_STRUCT_CODES = {"<u2": "H", "<i2": "h", "|u1": "B"}


@functools.cache
def _sample_format(n_in: int, n_out: int) -> str:
    """``sample_dtype`` as a ``struct`` format, e.g. ``<4H4h4h1B``."""
    fields = (sample_dtype(n_in, n_out).fields or {}).values()
    return "<" + "".join(f"{t.shape[0] if t.shape else 1}{_STRUCT_CODES[t.base.str]}"
                         for t, _ in fields)


def pack_sample(sample: Sample) -> bytes:
    n_in, n_out = len(sample.x), len(sample.out)
    return struct.pack(
        _sample_format(n_in, n_out), *sample.adc, *sample.x, *sample.out, sample.cls
    )


def unpack_sample(payload: bytes, n_in: int, n_out: int) -> Sample:
    if len(payload) != sample_size(n_in, n_out):
        raise ProtocolError(
            f"sample payload of {len(payload)} bytes, expected {sample_size(n_in, n_out)} "
            f"for a {n_in}-input, {n_out}-output model"
        )
    f = struct.unpack(_sample_format(n_in, n_out), payload)
    return Sample(
        tuple(f[:N_ADC]), tuple(f[N_ADC : N_ADC + n_in]), tuple(f[N_ADC + n_in : -1]), f[-1]
    )


def _value_code(value_bytes: int) -> str:
    if value_bytes not in (1, 2):
        raise ValueError(f"values are 1 or 2 bytes, not {value_bytes}")
    return "b" if value_bytes == 1 else "h"


def pack_adc10(adc: Sequence[int]) -> bytes:
    """Four 10-bit counts in 5 bytes, little-endian: count i at bits 10*i .. 10*i+9."""
    packed = 0
    for i, count in enumerate(adc):
        if not 0 <= count <= (1 << ADC_BITS) - 1:
            raise ValueError(f"ADC count {count} does not fit {ADC_BITS} bits")
        packed |= count << (ADC_BITS * i)
    return packed.to_bytes(COMPACT_ADC_BYTES, "little")


def unpack_adc10(data: bytes) -> tuple[int, ...]:
    packed = int.from_bytes(data[:COMPACT_ADC_BYTES], "little")
    mask = (1 << ADC_BITS) - 1
    return tuple((packed >> (ADC_BITS * i)) & mask for i in range(N_ADC))


def argmax_class(out: Sequence[int]) -> int:
    """The index of the largest output, the first one on ties (as the board's ``cls``)."""
    return max(range(len(out)), key=lambda i: (out[i], -i))


def compact_sample_size(n_in: int, n_out: int, value_bytes: int) -> int:
    return COMPACT_ADC_BYTES + value_bytes * (n_in + n_out)


def pack_compact_sample(sample: Sample, value_bytes: int) -> bytes:
    """SAMPLE_COMPACT: adc as 10-bit fields, x and out as int8 (q7) or int16; no ``cls``."""
    code = _value_code(value_bytes)
    values = (*sample.x, *sample.out)
    return pack_adc10(sample.adc) + struct.pack(f"<{len(values)}{code}", *values)


def unpack_compact_sample(payload: bytes, n_in: int, n_out: int, value_bytes: int) -> Sample:
    if len(payload) != compact_sample_size(n_in, n_out, value_bytes):
        raise ProtocolError(
            f"compact sample payload of {len(payload)} bytes, expected "
            f"{compact_sample_size(n_in, n_out, value_bytes)} for a {n_in}-input, "
            f"{n_out}-output model"
        )
    values = struct.unpack_from(f"<{n_in + n_out}{_value_code(value_bytes)}", payload,
                                COMPACT_ADC_BYTES)
    out = values[n_in:]
    return Sample(unpack_adc10(payload), values[:n_in], out, argmax_class(out))


def batch_capacity(n_in: int, n_out: int, value_bytes: int) -> int:
    """Vectors per INFER_BATCH: as many as fit its payload and that of the RESULTS reply."""
    return MAX_PAYLOAD // (max(n_in, n_out) * value_bytes)


def pack_values(values: Sequence[int], value_bytes: int) -> bytes:
    """INFER_BATCH / RESULTS payloads: values as int8 or int16, nothing else."""
    return struct.pack(f"<{len(values)}{_value_code(value_bytes)}", *values)


def unpack_results(payload: bytes, n_out: int, value_bytes: int) -> list[tuple[int, ...]]:
    """The outputs of each vector of a RESULTS payload."""
    width = n_out * value_bytes
    if not payload or len(payload) % width:
        raise ProtocolError(f"RESULTS payload of {len(payload)} bytes is not a whole number "
                            f"of {n_out}-output results")
    values = struct.unpack(f"<{len(payload) // value_bytes}{_value_code(value_bytes)}", payload)
    return [values[i : i + n_out] for i in range(0, len(values), n_out)]


def pack_trace(trace: TraceLayer) -> bytes:
    n = len(trace.act)
    return struct.pack(f"<BB{n}h", trace.layer, n, *trace.act)


def unpack_trace(payload: bytes) -> TraceLayer:
    if len(payload) < 2 or len(payload) != 2 + 2 * payload[1]:
        raise ProtocolError(f"TRACE payload of {len(payload)} bytes does not match its count")
    n = payload[1]
    return TraceLayer(payload[0], struct.unpack_from(f"<{n}h", payload, 2))


def unpack_error(payload: bytes) -> BoardError:
    if len(payload) != 2:
        raise ProtocolError(f"ERROR payload of {len(payload)} bytes, expected 2")
    return BoardError(payload[0], payload[1])


def pack_vector(values: tuple[int, ...] | list[int], unsigned: bool = False) -> bytes:
    """An INFER (i16) or INFER_RAW (u16) payload."""
    return struct.pack(f"<{len(values)}{'H' if unsigned else 'h'}", *values)
