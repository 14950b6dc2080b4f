"""A pixelnet board in Python on a pseudo-terminal: the protocol without any hardware.

It answers every command of firmware/PROTOCOL.md, streams, keeps a
calibration and restarts on RESET, computing with whatever ``arithmetic`` it
is given (the integer emulator, or a deliberately wrong one). The host opens
``board.port`` like any serial port. Tests use it to exercise the client, the
verifier and the fault proxy before (and besides) the virtual Uno; the
benchmark uses it to make realistic frames.

``protocol=2`` (the default) adds version 2: BAUD, compact stream frames and
INFER_BATCH. The stream is paced to the negotiated line. With
``check_speed=True`` bytes only pass while the speed the host set on the pty
(its termios, shared by both ends) is the board's, as on a real line;
otherwise the pty carries any speed, as the virtual Uno's does. A speed
listed in ``deaf_at`` is acknowledged and then never heard, as with an
adapter that cannot do it.
``protocol=1`` is a board from before version 2.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import termios
import threading
import time
import tty
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from pixelnet.codegen import emulator
from pixelnet.codegen.quantize import QuantizedModel

from .frames import MAX_PAYLOAD, Frame, FrameDecoder, encode_frame
from .messages import (
    DEFAULT_BAUD,
    FAST_BAUDS,
    PROTOCOL_V2,
    PROTOCOL_VERSION,
    STREAM_MAX_RATE,
    Calibration,
    CalOp,
    Cmd,
    ErrorCode,
    Info,
    Msg,
    Sample,
    TraceLayer,
    argmax_class,
    pack_calibration,
    pack_compact_sample,
    pack_info,
    pack_sample,
    pack_trace,
    pack_values,
)

BITS_PER_BYTE = 10  # the stream is paced to the line: start, 8 data, stop
BAUD_PROBATION = 1.0  # s at a new speed without a good frame before going back
MIN_CAL_SPAN = 16
FIRMWARE_VERSION = (0, 1, 0)


class BoardArithmetic(Protocol):
    """What a board computes; the integer emulator satisfies it through ``emulator_arithmetic``."""

    format_bits: int
    model_hash: str
    layer_sizes: tuple[int, ...]

    def preprocess(
        self, adc: Sequence[int], dark: Sequence[int], bright: Sequence[int]
    ) -> list[int]: ...

    def infer_trace(self, x: Sequence[int]) -> list[list[int]]: ...


class FakeBoard:
    """A threaded protocol-exact board on a pty; ``port`` is the path to open."""

    def __init__(self, arithmetic: BoardArithmetic, adc: Sequence[int] = (512,) * 4,
                 name: str = "fake", protocol: int = PROTOCOL_V2,
                 deaf_at: Sequence[int] = (), check_speed: bool = False) -> None:
        self.arithmetic = arithmetic
        self.protocol = protocol
        self.deaf_at = tuple(deaf_at)
        self.check_speed = check_speed
        self.adc = tuple(adc)
        self.name = name
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)  # 115200 until a host says otherwise
        attrs[4] = attrs[5] = termios.B115200
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)  # a full line drops bytes, as on a real board
        self.port = os.ttyname(self._slave)
        self._decoder = FrameDecoder()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reset_request = threading.Event()
        self.calibration = Calibration((0,) * 4, (1023,) * 4, 0)
        self._boot()
        self._thread = threading.Thread(target=self._run, name="fake-board", daemon=True)
        self._thread.start()

    # -- control (from the test) ------------------------------------------

    def set_adc(self, adc: Sequence[int]) -> None:
        with self._lock:
            self.adc = tuple(adc)

    def reset(self) -> None:
        """A hard reset, as DTR: the board restarts and sends its boot INFO."""
        self._reset_request.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> FakeBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the board ---------------------------------------------------------

    def _boot(self) -> None:
        self.averaging = 1
        self.rate = 0
        self.compact = False
        self.baud = DEFAULT_BAUD
        self._probation_until: float | None = None
        self._baud_before = DEFAULT_BAUD
        self._stream_seq = 0
        self._next_sample_at = 0.0
        self.calibration = Calibration(self.calibration.dark, self.calibration.bright,
                                       1 if self.calibration.source else 0)
        self._decoder = FrameDecoder()
        self._seen_errors = (0, 0, 0)
        self._send(Msg.INFO, 0, pack_info(self._info(boot=True)))

    def _info(self, boot: bool) -> Info:
        sizes = self.arithmetic.layer_sizes
        return Info(
            proto=PROTOCOL_VERSION, boot=boot, firmware=FIRMWARE_VERSION,
            format=getattr(self.arithmetic, "format_id", self.arithmetic.format_bits),
            n_in=4, n_out=sizes[-1], n_layers=len(sizes),
            averaging=self.averaging, model_hash=self.arithmetic.model_hash,
            calibration=self.calibration, board=self.name, v2=self.protocol >= PROTOCOL_V2,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._reset_request.is_set():
                self._reset_request.clear()
                self._boot()
            self._end_probation()
            ready, _, _ = select.select([self._master], [], [], self._idle_time())
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if not self._line_matches():
                    data = b""  # framing errors: nothing readable arrives
                for frame in self._decoder.feed(data):
                    self._probation_until = None
                    self._handle(frame)
                self._report_decoder_errors()
            self._stream_due()

    def _idle_time(self) -> float:
        if not self.rate:
            return 0.02
        return max(0.0, min(0.02, self._next_sample_at - time.monotonic()))

    def _stream_due(self) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        if now < self._next_sample_at:
            return
        sample = self._read_sensor()
        if self.compact:
            wire = encode_frame(Msg.SAMPLE_COMPACT, self._stream_seq,
                                pack_compact_sample(sample, self._value_bytes))
        else:
            wire = encode_frame(Msg.SAMPLE, self._stream_seq, pack_sample(sample))
        line_period = len(wire) * BITS_PER_BYTE / self.baud
        period = line_period if self.rate == STREAM_MAX_RATE else max(line_period, 1 / self.rate)
        self._next_sample_at = max(self._next_sample_at + period, now)
        self._write(wire)
        self._stream_seq = (self._stream_seq + 1) & 0xFF

    def _report_decoder_errors(self) -> None:
        stats = self._decoder.stats
        seen = (stats.bad_crc, stats.bad_frame, stats.too_long)
        for code, now, before in zip(
            (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.TOO_LONG), seen, self._seen_errors,
            strict=True,
        ):
            for _ in range(now - before):
                self._send(Msg.ERROR, 0, bytes((code, 0)))
        self._seen_errors = seen

    def _handle(self, frame: Frame) -> None:
        try:
            cmd = Cmd(frame.type)
            if self.protocol < PROTOCOL_V2 and cmd in (Cmd.BAUD, Cmd.INFER_BATCH):
                raise ValueError(cmd)
        except ValueError:
            self._error(frame, ErrorCode.UNKNOWN)
            return
        handler = getattr(self, f"_cmd_{cmd.name.lower()}")
        handler(frame)

    def _cmd_info(self, frame: Frame) -> None:
        if self._expect_length(frame, 0):
            self._send(Msg.INFO, frame.seq, pack_info(self._info(boot=False)))

    def _cmd_stream(self, frame: Frame) -> None:
        version2 = self.protocol >= PROTOCOL_V2 and len(frame.payload) == 3
        if self._expect_length(frame, 3 if version2 else 2):
            if version2 and frame.payload[2] > 1:
                self._error(frame, ErrorCode.BAD_ARG)
                return
            self.compact = version2 and frame.payload[2] == 1
            self.rate = struct.unpack_from("<H", frame.payload)[0]
            self._next_sample_at = time.monotonic()
            self._ack(frame)

    def _cmd_average(self, frame: Frame) -> None:
        if self._expect_length(frame, 1):
            if not 1 <= frame.payload[0] <= 64:
                self._error(frame, ErrorCode.BAD_ARG)
                return
            self.averaging = frame.payload[0]
            self._ack(frame)

    def _cmd_reset(self, frame: Frame) -> None:
        if self._expect_length(frame, 0):
            self._ack(frame)
            self._boot()

    def _cmd_sample(self, frame: Frame) -> None:
        if self._expect_length(frame, 0):
            self._send(Msg.SAMPLE, frame.seq, pack_sample(self._read_sensor()))

    def _cmd_infer(self, frame: Frame) -> None:
        x = self._vector(frame, "h")
        if x is not None:
            self._send(Msg.RESULT, frame.seq, pack_sample(self._compute((0,) * 4, x)))

    def _cmd_infer_raw(self, frame: Frame) -> None:
        adc = self._vector(frame, "H")
        if adc is None:
            return
        if max(adc) > 1023:
            self._error(frame, ErrorCode.BAD_ARG)
            return
        self._send(Msg.RESULT, frame.seq, pack_sample(self._from_adc(adc)))

    def _cmd_trace(self, frame: Frame) -> None:
        x = self._vector(frame, "h")
        if x is None:
            return
        layers = self.arithmetic.infer_trace(x)
        for i, act in enumerate(layers):
            self._send(Msg.TRACE, frame.seq, pack_trace(TraceLayer(i, tuple(act))))
        self._send(Msg.RESULT, frame.seq, pack_sample(self._sample((0,) * 4, x, layers[-1])))

    def _cmd_baud(self, frame: Frame) -> None:
        if not self._expect_length(frame, 4):
            return
        baud = struct.unpack("<I", frame.payload)[0]
        if baud not in (DEFAULT_BAUD, *FAST_BAUDS):
            self._error(frame, ErrorCode.BAD_ARG)
            return
        self._ack(frame)
        self._baud_before, self.baud = self.baud, baud
        self._probation_until = time.monotonic() + BAUD_PROBATION

    def _end_probation(self) -> None:
        if self._probation_until is not None and time.monotonic() >= self._probation_until:
            self._probation_until = None
            self.baud = self._baud_before

    def _cmd_infer_batch(self, frame: Frame) -> None:
        vb = self._value_bytes
        width = 4 * vb
        count = len(frame.payload) // width
        n_out = self.arithmetic.layer_sizes[-1]
        if not frame.payload or len(frame.payload) % width or count * n_out * vb > MAX_PAYLOAD:
            self._error(frame, ErrorCode.BAD_LENGTH)
            return
        values = struct.unpack(f"<{4 * count}{'b' if vb == 1 else 'h'}", frame.payload)
        limit = (1 << self.arithmetic.format_bits) - 1
        if any(not -limit <= v <= limit for v in values):
            self._error(frame, ErrorCode.BAD_ARG)
            return
        outs = [self._compute((0,) * 4, values[i : i + 4]).out for i in range(0, len(values), 4)]
        self._send(Msg.RESULTS, frame.seq, pack_values([v for out in outs for v in out], vb))

    @property
    def _value_bytes(self) -> int:
        return 1 if self.arithmetic.format_bits <= 7 else 2

    def _cmd_calibrate(self, frame: Frame) -> None:
        if not frame.payload or frame.payload[0] > CalOp.SET:
            self._error(frame, ErrorCode.BAD_ARG if frame.payload else ErrorCode.BAD_LENGTH)
            return
        op = CalOp(frame.payload[0])
        if not self._expect_length(frame, 17 if op == CalOp.SET else 1):
            return
        dark, bright = list(self.calibration.dark), list(self.calibration.bright)
        if op == CalOp.DARK:
            dark = list(self.adc)
        elif op == CalOp.BRIGHT:
            bright = list(self.adc)
        elif op == CalOp.RESET:
            dark, bright = [0] * 4, [1023] * 4
        else:
            values = struct.unpack("<8H", frame.payload[1:])
            dark, bright = list(values[:4]), list(values[4:])
        if any(b - d < MIN_CAL_SPAN or b > 1023 for d, b in zip(dark, bright, strict=True)):
            self._error(frame, ErrorCode.BAD_ARG)
            return
        self.calibration = Calibration(tuple(dark), tuple(bright), 0 if op == CalOp.RESET else 2)
        self._send(Msg.CAL, frame.seq, pack_calibration(self.calibration))

    # -- helpers -----------------------------------------------------------

    def _read_sensor(self) -> Sample:
        with self._lock:
            adc = self.adc
        return self._from_adc(adc)

    def _from_adc(self, adc: Sequence[int]) -> Sample:
        cal = self.calibration
        return self._compute(adc, self.arithmetic.preprocess(adc, cal.dark, cal.bright))

    def _compute(self, adc: Sequence[int], x: Sequence[int]) -> Sample:
        return self._sample(adc, x, self.arithmetic.infer_trace(x)[-1])

    @staticmethod
    def _sample(adc: Sequence[int], x: Sequence[int], out: Sequence[int]) -> Sample:
        out = [int(v) for v in out]
        return Sample(tuple(adc), tuple(int(v) for v in x), tuple(out), argmax_class(out))

    def _vector(self, frame: Frame, code: str) -> tuple[int, ...] | None:
        if not self._expect_length(frame, 8):
            return None
        values = struct.unpack(f"<4{code}", frame.payload)
        limit = (1 << self.arithmetic.format_bits) - 1
        if code == "h" and any(not -limit - 1 <= v <= limit for v in values):
            self._error(frame, ErrorCode.BAD_ARG)
            return None
        return values

    def _expect_length(self, frame: Frame, n: int) -> bool:
        if len(frame.payload) != n:
            self._error(frame, ErrorCode.BAD_LENGTH)
            return False
        return True

    def _ack(self, frame: Frame) -> None:
        self._send(Msg.ACK, frame.seq, bytes((frame.type,)))

    def _error(self, frame: Frame, code: ErrorCode) -> None:
        self._send(Msg.ERROR, frame.seq, bytes((code, frame.type)))

    def _send(self, msg: Msg, seq: int, payload: bytes) -> None:
        self._write(encode_frame(msg, seq, payload))

    def _line_matches(self) -> bool:
        """Whether host and board speak the same speed (and the adapter can carry it)."""
        if self.baud in self.deaf_at:
            return False
        if not self.check_speed:
            return True
        try:
            host_speed = termios.tcgetattr(self._slave)[5]
        except termios.error:
            return True
        return host_speed == getattr(termios, f"B{self.baud}", None)

    def _write(self, wire: bytes) -> None:
        if not self._line_matches():
            return
        with contextlib.suppress(OSError):  # a full or closed line: the bytes vanish
            os.write(self._master, wire)


class EmulatorArithmetic:
    """The integer emulator as a board's arithmetic: the fake board computes bit-exactly."""

    def __init__(self, qm: QuantizedModel) -> None:
        self.qm = qm
        self.format_bits = qm.format_bits
        self.format_id = qm.format.protocol_id  # the handshake's format byte
        self.model_hash = qm.model_hash
        self.layer_sizes = qm.layer_sizes

    def preprocess(
        self, adc: Sequence[int], dark: Sequence[int], bright: Sequence[int]
    ) -> list[int]:
        return emulator.preprocess(self.qm, np.array([adc]), dark, bright)[0].tolist()

    def infer_trace(self, x: Sequence[int]) -> list[list[int]]:
        return [layer[0].tolist() for layer in emulator.infer_trace(self.qm, np.array([x]))]
