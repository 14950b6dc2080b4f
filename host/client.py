"""Talk to a pixelnet board over any serial-like object (firmware/PROTOCOL.md).

The client is pure protocol over ``port.read`` / ``port.write``: a pyserial
``Serial``, ``serial_for_url("loop://")`` or a pseudo-terminal all work, which
is how it is tested without hardware. It is single-threaded: every call pumps
the port until its reply arrives, and stream ``SAMPLE`` frames that arrive
meanwhile are queued for ``samples()``.

A lossy line is expected, not exceptional. Frames are CRC-checked (a corrupted
frame is never returned), a command without a reply is re-sent with the same
``seq`` a bounded number of times (so a late reply still matches and a
duplicate is dropped), stream sequence gaps and duplicates are counted, and a
board that restarts mid-stream (its boot INFO) gets its stream and averaging
back. Everything thrown away is counted in ``stats``.

Protocol version 2 (``upgrade``) is opt-in and only with a board whose INFO
says it speaks it: a faster line negotiated with BAUD (back to 115,200 when
the first frame at the new speed does not arrive), compact stream frames, and
injected vectors batched many to a frame. With a version 1 board, or without
``upgrade``, the client speaks version 1 exactly as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pixelnet.errors import PixelnetError

from .frames import Frame, FrameDecoder, encode_frame
from .linkpolicy import LinkHealth, RetryPolicy
from .messages import (
    DEFAULT_BAUD,
    MAX_SEQ_GAP,
    N_ADC,
    PROTOCOL_V2,
    STREAM_MAX_RATE,
    BoardError,
    Calibration,
    CalOp,
    Cmd,
    Info,
    Msg,
    ProtocolError,
    Sample,
    TraceLayer,
    argmax_class,
    batch_capacity,
    pack_values,
    pack_vector,
    unpack_calibration,
    unpack_compact_sample,
    unpack_error,
    unpack_info,
    unpack_results,
    unpack_sample,
    unpack_trace,
)

REPLY_TIMEOUT = 0.5  # s: the floor of the reply deadline (linkpolicy scales and backs it off)
COMMAND_RETRIES = 3  # silent re-sends of one command before BoardTimeout
BOOT_TIMEOUT = 4.0  # s for the boot INFO after RESET (Uno bootloader ~1.6 s, MicroPython ~1 s)
STREAM_NUDGE = 0.5  # s of stream silence before STREAM is sent again (a lost boot INFO)
READ_POLL = 0.02  # s a single port read may block: the granularity of every deadline
# A frame is at most 66 bytes (6 ms at 115200 baud): a line quiet this long after
# half a frame lost the frame's end (a damaged delimiter), and a reply is asked again.
PARTIAL_FRAME_IDLE = 0.1
# Requests in flight in infer_many: 4 INFER frames (15 bytes each) fit the Uno's
# 64-byte receive buffer, so a slow board never loses a pipelined request.
PIPELINE_WINDOW = 4
# One INFER_BATCH (up to 66 bytes on the wire) in flight: a second one would arrive while
# the board computes the first and could overrun the Uno's 64-byte receive buffer.
BATCH_WINDOW = 1
# Vectors go in batches only while at most 1 frame in this many arrived damaged.
BATCH_MAX_DAMAGED = 200
# A batch the line damaged this many times is given up for single INFERs: a line clean
# enough for batches (above) hardly ever does that; one that does lets short frames through.
BATCH_MAX_TRIES = 8
# At a new line speed, INFO is tried twice this long before falling back: inside the
# board's 1 s probation, after which it returns to 115,200 by itself, yet patient with a
# board (or simulator) that a loaded machine holds up for a few hundred milliseconds.
BAUD_CONFIRM_TIMEOUT = 0.45

_REPLIES: dict[Cmd, Msg] = {
    Cmd.INFO: Msg.INFO,
    Cmd.STREAM: Msg.ACK,
    Cmd.INFER: Msg.RESULT,
    Cmd.INFER_RAW: Msg.RESULT,
    Cmd.TRACE: Msg.RESULT,
    Cmd.CALIBRATE: Msg.CAL,
    Cmd.AVERAGE: Msg.ACK,
    Cmd.RESET: Msg.ACK,
    Cmd.SAMPLE: Msg.SAMPLE,
    Cmd.BAUD: Msg.ACK,
    Cmd.INFER_BATCH: Msg.RESULTS,
}



class BoardTimeout(PixelnetError):
    """The board did not answer within the deadline (after the allowed retries)."""


class LineTooNoisy(BoardTimeout):
    """The board answers, but too few of its frames (or of ours) arrive intact."""


class BoardErrorReply(PixelnetError):
    """The board answered a command with an ERROR frame."""

    def __init__(self, error: BoardError, cmd: Cmd) -> None:
        super().__init__(f"board rejected {cmd.name}: {error.name}")
        self.code = error.code
        self.cmd = cmd


class PortClosedError(PixelnetError):
    """The serial port went away (cable pulled, board powered off, port closed)."""


@dataclass
class LinkStats:
    """What the link lost or repaired; the fault report of ``pixelnet verify``."""

    frames: int = 0  # frames with a good CRC
    bad_crc: int = 0
    bad_frame: int = 0
    too_long: int = 0
    garbage_bytes: int = 0
    stream_samples: int = 0  # stream SAMPLE frames delivered
    seq_gaps: int = 0  # places where the stream counter jumped
    missed_samples: int = 0  # stream samples lost in those gaps
    seq_jumps: int = 0  # counter steps backwards or beyond MAX_SEQ_GAP: not counted as lost
    duplicates: int = 0  # repeated frames dropped (duplicated stream frames, late replies)
    resets: int = 0  # boot INFO frames seen (board restarted)
    board_errors: int = 0  # ERROR frames received
    retries: int = 0  # commands re-sent after a timeout or a garbled-frame error
    protocol_errors: int = 0  # CRC-good frames with an impossible layout (dropped)
    baud_fallbacks: int = 0  # times the line went back to 115,200 (no answer at speed, reset)
    unread_requests: int = 0  # ERROR frames saying the board could not read one of our frames
    crc_escapes: int = 0  # CRC-good frames the board, asked again, did not repeat (dropped)

    @property
    def resyncs(self) -> int:
        """Times the decoder threw a frame away and re-synchronised at the next 0x00."""
        return self.bad_crc + self.bad_frame + self.too_long

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "resyncs": self.resyncs}


@dataclass
class _Pending:
    seq: int
    cmd: Cmd
    wire: bytes
    deadline: float
    sent_at: float = 0.0
    timeouts: int = 0  # tries that ended in silence
    tries: int = 0  # tries in all (the first included)
    damage_mark: int = 0  # damaged frames seen when this try was sent
    silent_since: float = 0.0  # when the current run of silent tries began
    traces: list[TraceLayer] = field(default_factory=list)
    reply: Frame | None = None
    error: BoardError | None = None
    payload_size: int = 0  # bytes of the request's payload (an INFER_BATCH's vectors)


class BoardClient:
    """One board on one serial port; see the module docstring."""

    def __init__(
        self,
        port: Any,
        *,
        reply_timeout: float = REPLY_TIMEOUT,
        retries: int = COMMAND_RETRIES,
        window: int = PIPELINE_WINDOW,
    ) -> None:
        self._port = port
        self._port.timeout = READ_POLL
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.policy = RetryPolicy(min_timeout=reply_timeout, silent_retries=retries)
        self.window = window
        self._decoder = FrameDecoder()
        self._counts = LinkStats()
        self._seq = 0
        self._pending: dict[int, _Pending] = {}
        self._stream: deque[tuple[int, Sample]] = deque()
        self._last_stream_seq: int | None = None
        self._stream_rate = 0
        self._averaging: int | None = None
        self._resume_needed = False
        self._boots = 0
        self._answered = False
        self._damage_unanswered = 0  # damaged frames not yet answered by a prompt re-send
        self._batches_lost = False  # an INFER_BATCH the line would not let through
        self._noisy_try_cap: int | None = None  # fewer tries than the policy's, for batches
        self._requests_sent = self._requests_answered = 0
        self._last_byte_at = 0.0
        self.last_info: Info | None = None
        self.protocol = 1  # 2 once ``upgrade`` found a version 2 board
        self.baudrate = int(getattr(port, "baudrate", DEFAULT_BAUD) or DEFAULT_BAUD)
        self._speeds: tuple[int, int] | None = None  # (opened at, negotiated) once upgraded
        self._write(b"\x00")  # flush any half-received frame on the board

    @classmethod
    def open(cls, url: str, baudrate: int = 115200, **kwargs: Any) -> BoardClient:
        """Open a port path or any pyserial URL (no board wait; see connect.connect)."""
        from .connect import open_port

        return cls(open_port(url, baudrate), **kwargs)

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._port.close()

    def __enter__(self) -> BoardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> LinkStats:
        """A snapshot of the link counters (decoder and client)."""
        d = self._decoder.stats
        return LinkStats(
            **{
                **asdict(self._counts),
                "frames": d.frames,
                "bad_crc": d.bad_crc,
                "bad_frame": d.bad_frame,
                "too_long": d.too_long,
                "garbage_bytes": d.garbage_bytes,
            }
        )

    def count_crc_escape(self) -> None:
        """A CRC-good frame turned out to be damage (the board did not repeat it when asked
        again): counted with the link's faults."""
        self._counts.crc_escapes += 1

    # -- commands --------------------------------------------------------

    def info(self) -> Info:
        info = unpack_info(self._command(Cmd.INFO).payload)
        self.last_info = info
        return info

    def infer(self, x: Sequence[int]) -> Sample:
        return self.infer_many([x])[0]

    def infer_raw(self, adc: Sequence[int]) -> Sample:
        return self.infer_many([adc], raw=True)[0]

    def infer_many(self, xs: Iterable[Sequence[int]], raw: bool = False) -> list[Sample]:
        """Results for many inputs, with up to ``window`` requests in flight."""
        cmd = Cmd.INFER_RAW if raw else Cmd.INFER
        if self.protocol >= PROTOCOL_V2 and not raw and self._line_is_clean():
            xs = [tuple(int(v) for v in x) for x in xs]
            if self._batchable(xs):
                try:
                    return self._infer_batched(xs)
                except LineTooNoisy:  # a long frame the line damages; short ones may pass
                    self._batches_lost = True
        requests = ((cmd, _vector_payload(x, unsigned=raw)) for x in xs)
        return [self._sample(p.reply) for p in self._pipeline(requests)]

    def _line_is_clean(self) -> bool:
        """Batches only on a line that damages few frames either way (what we read, and what
        the board said it could not read), and never again once one was lost to the line: a
        long INFER_BATCH frame and its RESULTS rarely get through a noisy line whole, where
        short INFER frames still do."""
        stats = self.stats
        damaged = stats.resyncs + stats.unread_requests
        return not self._batches_lost and damaged * BATCH_MAX_DAMAGED <= stats.frames

    def _batchable(self, xs: list[tuple[int, ...]]) -> bool:
        """Whether every vector fits INFER_BATCH's values; others go one by one (and the
        board refuses them exactly as it refuses a single INFER)."""
        assert self.last_info is not None
        limit = 1 << (8 * self.last_info.value_bytes - 1)
        return all(len(x) == N_ADC and all(-limit <= v < limit for v in x) for x in xs)

    def _infer_batched(self, xs: list[tuple[int, ...]]) -> list[Sample]:
        """INFER_BATCH: as many vectors per frame as fit, one RESULTS frame per batch."""
        info = self.last_info
        assert info is not None
        size = batch_capacity(N_ADC, info.n_out, info.value_bytes)
        batches = [xs[i : i + size] for i in range(0, len(xs), size)]
        requests = (
            (Cmd.INFER_BATCH, pack_values([v for x in batch for v in x], info.value_bytes))
            for batch in batches
        )
        samples: list[Sample] = []
        self._noisy_try_cap = BATCH_MAX_TRIES
        try:
            done_batches = self._pipeline(requests, BATCH_WINDOW)
        finally:
            self._noisy_try_cap = None
        for batch, done in zip(batches, done_batches, strict=True):
            assert done.reply is not None
            outs = self._results(done.reply)  # its length was checked on arrival
            samples += [Sample((0,) * N_ADC, x, out, argmax_class(out))
                        for x, out in zip(batch, outs, strict=True)]
        return samples

    def trace(self, x: Sequence[int]) -> tuple[list[TraceLayer], Sample]:
        (done,) = self._pipeline([(Cmd.TRACE, _vector_payload(x, unsigned=False))])
        return done.traces, self._sample(done.reply)

    def calibrate(
        self,
        op: CalOp,
        dark: Sequence[int] | None = None,
        bright: Sequence[int] | None = None,
    ) -> Calibration:
        """Measure dark or bright now, reset to defaults, or set both (CalOp.SET)."""
        payload = bytes((int(op),))
        if op == CalOp.SET:
            if dark is None or bright is None:
                raise ValueError("CalOp.SET needs both dark and bright")
            payload += _vector_payload(dark, unsigned=True) + _vector_payload(bright, unsigned=True)
        elif dark is not None or bright is not None:
            raise ValueError("dark and bright are only given with CalOp.SET")
        cal = unpack_calibration(self._command(Cmd.CALIBRATE, payload).payload)
        if self.last_info is not None:  # samples from now on are preprocessed with this one
            self.last_info = dataclasses.replace(self.last_info, calibration=cal)
        return cal

    def set_averaging(self, n: int) -> None:
        if not 0 <= n <= 255:
            raise ValueError(f"averaging {n} does not fit a byte")
        self._command(Cmd.AVERAGE, bytes((n,)))
        self._averaging = n

    def stream(self, rate: int) -> None:
        """Start streaming at ``rate`` samples/s (0xFFFF: line speed); 0 stops."""
        if not 0 <= rate <= STREAM_MAX_RATE:
            raise ValueError(f"stream rate {rate} outside 0..{STREAM_MAX_RATE}")
        compact = b"\x01" if self.protocol >= PROTOCOL_V2 else b""
        self._command(Cmd.STREAM, struct.pack("<H", rate) + compact)
        self._stream_rate = rate
        if rate == 0:
            self._stream.clear()

    def sample(self) -> Sample:
        """One sample read from the sensor now (outside the stream)."""
        return self._sample(self._command(Cmd.SAMPLE))

    def samples(
        self, n: int | None = None, timeout: float | None = None
    ) -> Iterator[tuple[int, Sample]]:
        """Stream samples as (stream seq, sample); raises BoardTimeout after ``timeout`` s idle.

        The default is the silence a command gets (``RetryPolicy.silence_limit``):
        a board held up by a busy machine is no lost board.

        A stream that falls silent for ``STREAM_NUDGE`` s is asked for again: a
        board that restarted while its boot INFO was lost on the line resumes too.
        """
        if timeout is None:
            timeout = self.policy.silence_limit
        delivered = 0
        while n is None or delivered < n:
            if not self._stream:
                self._wait_for_stream(timeout)
            if self._resume_needed:
                self._resume_after_reset()
                continue
            self._counts.stream_samples += 1
            delivered += 1
            yield self._stream.popleft()

    def _wait_for_stream(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        damage_before = self._damaged_frames()
        # Three sample periods of silence at a slow rate are no reason to nudge yet.
        nudge = max(STREAM_NUDGE, 3.0 / self._stream_rate) if self._stream_rate else timeout
        while True:
            wait = min(nudge, deadline - time.monotonic())
            try:
                self._pump_until(lambda: bool(self._stream) or self._resume_needed, wait)
                return
            except BoardTimeout:
                if time.monotonic() >= deadline or not self._stream_rate:
                    if self._damaged_frames() > damage_before:
                        raise LineTooNoisy(self.health.noisy_message()) from None
                    raise BoardTimeout(f"no stream sample for {timeout:g} s") from None
                self._counts.retries += 1
                self._resume_after_reset()

    def reset(self) -> Info:
        """Restart the board (RESET) and return its boot INFO."""
        for attempt in range(self.retries + 1):
            boots = self._boots
            if attempt:
                self._counts.retries += 1
            seq = self._next_seq()
            self._pending[seq] = _Pending(seq, Cmd.RESET, encode_frame(Cmd.RESET, seq), 0.0)
            self._transmit(self._pending[seq])
            try:
                self._pump_until(lambda b=boots: self._boots > b, BOOT_TIMEOUT)
            except BoardTimeout:
                continue
            finally:
                self._pending.pop(seq, None)  # its ACK may be lost in the restart
            self._resume_needed = False
            assert self.last_info is not None
            return self.last_info
        raise BoardTimeout(
            f"no boot INFO within {BOOT_TIMEOUT:g} s after {self.retries + 1} RESET commands"
        )

    def upgrade(self, baudrate: int | None = None) -> int:
        """Use protocol version 2 if the board speaks it, at ``baudrate`` if it takes it.

        Returns the line speed now in effect. A board that refuses the speed keeps the
        current one; one that acknowledges it but is not heard at the new speed (an
        adapter that cannot do it) is given up on after ``2 * BAUD_CONFIRM_TIMEOUT`` s,
        and both sides return to the old speed (counted in ``stats.baud_fallbacks``).
        """
        info = self.last_info or self.info()
        if not info.v2:
            return self.baudrate
        self.protocol = PROTOCOL_V2
        if baudrate is None or baudrate == self.baudrate:
            return self.baudrate
        try:
            self._command(Cmd.BAUD, struct.pack("<I", baudrate))
        except BoardErrorReply:
            return self.baudrate
        previous, self._speeds = self.baudrate, None
        self._set_baudrate(baudrate)
        saved = self.policy
        self.policy = RetryPolicy(min_timeout=BAUD_CONFIRM_TIMEOUT, silent_retries=1)
        try:
            self.info()
            self._speeds = (previous, baudrate)
        except BoardTimeout:
            self._counts.baud_fallbacks += 1
            self._set_baudrate(previous)
        finally:
            self.policy = saved
        if self._speeds is None:
            self._write(b"\x00")
            self.info()
        return self.baudrate

    def _set_baudrate(self, baudrate: int) -> None:
        try:
            self._port.baudrate = baudrate
        except (OSError, ValueError) as exc:
            raise PortClosedError(f"cannot set the port to {baudrate} baud: {exc}") from exc
        self.baudrate = baudrate

    def _try_other_speed(self) -> None:
        """After a silence on a negotiated line, try the other of the two speeds.

        A board that restarted speaks the opening speed again (and its boot INFO was
        lost at ours); one that was merely slow still speaks the fast one: alternating
        on every timeout finds either within the retry budget.
        """
        if self._speeds is None:
            return
        opened, fast = self._speeds
        if self.baudrate == fast:
            self._counts.baud_fallbacks += 1
        self._set_baudrate(opened if self.baudrate == fast else fast)
        self._write(b"\x00")

    def wait_for_boot(self, timeout: float) -> Info | None:
        """The boot INFO if the board sends one within ``timeout`` s (after a DTR reset)."""
        boots = self._boots
        try:
            self._pump_until(lambda: self._boots > boots, timeout)
        except BoardTimeout:
            return None
        return self.last_info

    # -- engine ----------------------------------------------------------

    def _command(self, cmd: Cmd, payload: bytes = b"") -> Frame:
        (done,) = self._pipeline([(cmd, payload)])
        assert done.reply is not None
        return done.reply

    def _pipeline(
        self, requests: Iterable[tuple[Cmd, bytes]], window: int | None = None
    ) -> list[_Pending]:
        """Send requests with up to ``window`` in flight; results in request order."""
        window = window or self.window
        todo = iter(requests)
        order: list[_Pending] = []
        in_flight: list[_Pending] = []
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < window:
                    request = next(todo, None)
                    if request is None:
                        exhausted = True
                        break
                    pending = self._send(*request)
                    order.append(pending)
                    in_flight.append(pending)
                if not in_flight:
                    return order
                self._pump_once()
                for pending in in_flight:
                    if pending.error is not None:
                        raise BoardErrorReply(pending.error, pending.cmd)
                self._resend_overdue(in_flight)
                in_flight = [p for p in in_flight if p.reply is None]
        finally:  # on an error, late replies to the abandoned requests count as duplicates
            for pending in in_flight:
                if self._pending.get(pending.seq) is pending:
                    del self._pending[pending.seq]

    def _send(self, cmd: Cmd, payload: bytes) -> _Pending:
        seq = self._next_seq()
        pending = _Pending(seq, cmd, encode_frame(cmd, seq, payload), 0.0,
                           payload_size=len(payload))
        self._pending[seq] = pending
        self._transmit(pending)
        return pending

    def _transmit(self, pending: _Pending) -> None:
        pending.sent_at = time.monotonic()
        pending.deadline = pending.sent_at + self.policy.timeout(pending.timeouts)
        if not pending.timeouts:
            pending.silent_since = pending.sent_at
        pending.tries += 1
        self._requests_sent += 1
        pending.damage_mark = self._damaged_frames()
        # A spare delimiter: if the line damages the first, the board still ends the
        # frame now (and says it could not read it) instead of waiting for the next one.
        self._write(pending.wire + b"\x00")

    def _resend_overdue(self, in_flight: list[_Pending]) -> None:
        """Re-send requests that are overdue, that the board could not read, or overtaken.

        A board answers in order, so a reply to a request sent *later* than one
        still waiting means the earlier request (or its reply) was lost: it is
        re-sent at once instead of after the timeout. So is, for each damaged
        frame that arrives (a reply damaged on the way, or the board saying it
        could not read one of ours), the oldest request still waiting whose try
        is old enough to have been answered by now (``RetryPolicy.could_be_answered``):
        a damaged frame is evidence against one try, never against a try sent
        after it, so a noisy line does not multiply the re-sends. A try that saw
        damaged frames is charged to the line (``linkpolicy``), a silent one to
        the board.
        """
        now = time.monotonic()
        damaged, self._damage_unanswered = self._damage_unanswered, 0
        answered_sends = [p.sent_at for p in in_flight if p.reply is not None]
        latest_answered = max(answered_sends, default=0.0)
        if any(p.reply is None and now >= p.deadline for p in in_flight):
            self._try_other_speed()
        for pending in in_flight:
            if pending.reply is not None:
                continue
            if now >= pending.deadline and self._damaged_frames() == pending.damage_mark:
                pending.timeouts += 1
                if self.policy.board_gone(pending.timeouts, now - pending.silent_since):
                    raise BoardTimeout(
                        f"no reply to {pending.cmd.name} after {pending.tries} tries "
                        f"({now - pending.silent_since:.1f} s of silence)"
                    )
            elif now >= pending.deadline or pending.sent_at < latest_answered:
                self._charge_to_line(pending)
            elif damaged and self.policy.could_be_answered(now - pending.sent_at):
                damaged -= 1
                self._charge_to_line(pending)
            else:
                continue
            pending.traces.clear()
            self._counts.retries += 1
            self._transmit(pending)

    def _charge_to_line(self, pending: _Pending) -> None:
        """A try lost to damage: fine, unless the line's loss says it is hopeless."""
        pending.timeouts = 0  # the board is there: silence is counted afresh
        allowed = self.policy.noisy_tries_allowed(self.health)
        if pending.tries >= min(allowed, self._noisy_try_cap or allowed):
            raise LineTooNoisy(
                f"{self.health.noisy_message()} (no intact reply to {pending.cmd.name} "
                f"in {pending.tries} tries)"
            )

    @property
    def health(self) -> LinkHealth:
        """Frames intact and damaged so far, both directions (see linkpolicy)."""
        damaged = self._damaged_frames()
        # CRC-good frames that still told of damage (a bad layout, an unread request of ours)
        told_damage = self._counts.protocol_errors + self._counts.unread_requests
        intact = max(0, self._decoder.stats.frames - told_damage)
        return LinkHealth(intact, damaged, self._requests_sent, self._requests_answered)

    def _damaged_frames(self) -> int:
        d = self._decoder.stats
        return (
            d.bad_crc + d.bad_frame + d.too_long
            + self._counts.protocol_errors + self._counts.unread_requests
        )

    def _next_seq(self) -> int:
        seq = self._seq
        while seq in self._pending:  # never reuse the seq of a command still waiting
            seq = (seq + 1) & 0xFF
        self._seq = (seq + 1) & 0xFF
        return seq

    def _pump_until(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                raise BoardTimeout(f"board silent for {timeout:g} s")
            self._pump_once()

    def _pump_once(self) -> None:
        before = self._damaged_frames()
        data = self._read()
        now = time.monotonic()
        if data:
            self._last_byte_at = now
        elif self._decoder.partial and now - self._last_byte_at > PARTIAL_FRAME_IDLE:
            self._decoder.drop_partial()
        for frame in self._decoder.feed(data):
            self._dispatch(frame)
        self._damage_unanswered += self._damaged_frames() - before

    def _dispatch(self, frame: Frame) -> None:
        if not self._layout_ok(frame):  # CRC-valid but impossible: as good as damaged
            self._counts.protocol_errors += 1
            return
        if frame.type == Msg.ERROR:
            self._counts.board_errors += 1
        if frame.type == Msg.INFO and len(frame.payload) > 1 and frame.payload[1] & 1:
            self._on_boot(frame)
            return
        if frame.type == Msg.SAMPLE_COMPACT or (
            frame.type == Msg.SAMPLE and not self._awaits(frame.seq, Cmd.SAMPLE)
        ):
            self._on_stream_sample(frame)
            return
        if frame.type == Msg.ERROR and frame.payload[1:2] == b"\x00":
            self._counts.unread_requests += 1  # damage to one of ours: see _resend_overdue
            return
        pending = self._pending.get(frame.seq)
        if pending is None or pending.reply is not None:
            self._counts.duplicates += 1
            return
        if frame.type == Msg.TRACE and pending.cmd == Cmd.TRACE:
            pending.traces.append(unpack_trace(frame.payload))
        elif frame.type == Msg.ERROR:
            error = unpack_error(frame.payload)
            if error.cmd == pending.cmd:
                pending.error = error
                pending.reply = frame
                del self._pending[frame.seq]
            else:
                self._counts.duplicates += 1
        elif frame.type == _REPLIES[pending.cmd] and self._reply_matches(pending, frame):
            if pending.tries == 1:  # Karn: a re-sent request's round trip is ambiguous
                self.policy.observe_rtt(time.monotonic() - pending.sent_at)
            pending.reply = frame
            del self._pending[frame.seq]
            self._answered = True
            self._requests_answered += 1
        else:
            self._counts.duplicates += 1

    def _layout_ok(self, frame: Frame) -> bool:
        """Whether a CRC-good frame's payload has the layout its type says (1 in 65,536
        damaged frames passes a CRC-16; its fields must not reach a comparison)."""
        unpack = _UNPACKERS.get(frame.type)
        if frame.type in (Msg.RESULT, Msg.SAMPLE):
            unpack = self._sample
        if frame.type == Msg.RESULTS:
            unpack = self._results
        if unpack is None:
            return True
        try:
            unpack(frame)
        except (ProtocolError, struct.error):
            return False
        return True

    @staticmethod
    def _reply_matches(pending: _Pending, frame: Frame) -> bool:
        """An ACK names the command it acknowledges; a stale ACK for another is not ours."""
        return frame.type != Msg.ACK or frame.payload[:1] == bytes((pending.cmd,))

    def _awaits(self, seq: int, cmd: Cmd) -> bool:
        pending = self._pending.get(seq)
        return pending is not None and pending.cmd == cmd and pending.reply is None

    def _on_boot(self, frame: Frame) -> None:
        try:
            self.last_info = unpack_info(frame.payload)
        except ProtocolError:
            self._counts.protocol_errors += 1
            return
        self._boots += 1
        if self._answered:  # the boot that greets a freshly opened port is no reset
            self._counts.resets += 1
        self._last_stream_seq = None
        if self._stream_rate or self._averaging is not None:
            self._resume_needed = True

    def _resume_after_reset(self) -> None:
        """Give a restarted board back what the host had asked of it."""
        self._resume_needed = False
        if self._averaging is not None:
            self.set_averaging(self._averaging)
        if self._stream_rate:
            self.stream(self._stream_rate)

    def _on_stream_sample(self, frame: Frame) -> None:
        try:
            if frame.type == Msg.SAMPLE_COMPACT:
                sample = self._compact_sample(frame)
            else:
                sample = self._sample(frame)
        except ProtocolError:
            self._counts.protocol_errors += 1
            return
        last = self._last_stream_seq
        if last is not None:
            step = (frame.seq - last) & 0xFF
            if step == 0:
                self._counts.duplicates += 1
                return
            if step > MAX_SEQ_GAP:
                self._counts.seq_jumps += 1
            elif step != 1:
                self._counts.seq_gaps += 1
                self._counts.missed_samples += step - 1
        self._last_stream_seq = frame.seq
        self._stream.append((frame.seq, sample))

    def _compact_sample(self, frame: Frame) -> Sample:
        if self.last_info is None:
            raise ProtocolError("a compact SAMPLE before INFO said the model's size")
        info = self.last_info
        return unpack_compact_sample(frame.payload, info.n_in, info.n_out, info.value_bytes)

    def _results(self, frame: Frame) -> list[tuple[int, ...]]:
        """A RESULTS frame's outputs: one vector of them for each vector of the INFER_BATCH
        it answers, no more and no fewer (a CRC-good frame of another length is damaged)."""
        info = self.last_info
        if info is None:
            raise ProtocolError("RESULTS before INFO said the model's size")
        outs = unpack_results(frame.payload, info.n_out, info.value_bytes)
        pending = self._pending.get(frame.seq)
        if pending is not None and pending.cmd == Cmd.INFER_BATCH:
            sent = pending.payload_size // (N_ADC * info.value_bytes)
            if len(outs) != sent:
                raise ProtocolError(f"RESULTS for {len(outs)} vectors, {sent} were sent")
        return outs

    def _sample(self, frame: Frame | None) -> Sample:
        assert frame is not None
        n_out = self.last_info.n_out if self.last_info else _outputs_in(frame.payload)
        return unpack_sample(frame.payload, N_ADC, n_out)

    # -- port ------------------------------------------------------------

    def _read(self) -> bytes:
        try:
            waiting = getattr(self._port, "in_waiting", 0)
            return self._port.read(max(1, waiting))
        except (OSError, ValueError, TypeError) as exc:  # SerialException is an OSError
            raise PortClosedError(f"serial port closed: {exc}") from exc

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (OSError, ValueError, TypeError) as exc:
            raise PortClosedError(f"serial port closed: {exc}") from exc


def _unpack_ack(payload: bytes) -> None:
    if len(payload) != 1:
        raise ProtocolError(f"ACK payload of {len(payload)} bytes, expected 1")


_UNPACKERS: dict[int, Callable[[Frame], object]] = {
    Msg.ACK: lambda f: _unpack_ack(f.payload),
    Msg.INFO: lambda f: unpack_info(f.payload),
    Msg.CAL: lambda f: unpack_calibration(f.payload),
    Msg.TRACE: lambda f: unpack_trace(f.payload),
    Msg.ERROR: lambda f: unpack_error(f.payload),
}


def _outputs_in(payload: bytes) -> int:
    """n_out of a RESULT/SAMPLE payload before INFO told us (4 inputs: 17 bytes + 2/output)."""
    return max(0, (len(payload) - 2 * N_ADC - 2 * N_ADC - 1) // 2)


def _vector_payload(values: Sequence[int], unsigned: bool) -> bytes:
    values = [int(v) for v in values]
    if len(values) != N_ADC:
        raise ValueError(f"expected {N_ADC} values (TL, TR, BL, BR), got {len(values)}")
    low, high = (0, 0xFFFF) if unsigned else (-0x8000, 0x7FFF)
    if not all(low <= v <= high for v in values):
        raise ValueError(f"values {values} do not fit {'u16' if unsigned else 'i16'}")
    return pack_vector(values, unsigned=unsigned)


__all__ = [
    "BoardClient",
    "BoardErrorReply",
    "BoardTimeout",
    "LineTooNoisy",
    "LinkStats",
    "PortClosedError",
]
