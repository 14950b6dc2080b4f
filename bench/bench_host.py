"""Benchmark of the host: is the laptop ever the bottleneck of verification?

Two numbers:

* **offline**: frames/s the host parses and verifies a recorded stream held in
  memory with ``host.offline.verify_recording`` (the whole recording decoded
  with NumPy, compared in large batches, every check of the live path kept),
  next to the live path fed the same bytes by a port that replays them
  (``BoardClient`` framing and dispatch frame by frame, ``Verifier`` in batches
  of 64). Target: >= 50,000 frames/s, over 100 times the serial line's ~370
  SAMPLE frames/s.
* **live**: verified samples/s from the virtual Uno paced in real time
  (simavr ``realtime``), against the line limit of 115,200 baud (11,520 B/s
  divided by the SAMPLE frame's wire size). Target: >= 90 %.

Wall-clock numbers: they vary with the machine and its load; compare ratios.
"""

from __future__ import annotations

import json
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixelnet.codegen.emulator import classify, infer, preprocess
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import (
    DEFAULT_CALIBRATION,
    PROTOCOL_VERSION,
    Cmd,
    Info,
    Msg,
    Sample,
    pack_info,
    pack_sample,
    sample_size,
)
from pixelnet.host.offline import verify_recording
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model

LINE_BYTES_PER_S = 11_520  # 115200 baud, 10 bits per byte
OFFLINE_TARGET = 50_000  # frames/s
LIVE_TARGET = 0.9  # of the line limit
READ_CHUNK = 4096


class ReplayPort:
    """A serial-like object that answers INFO and STREAM and then replays recorded bytes.

    ``board``, when given, is the recorded board asked again (INFER_RAW): the verifier
    asks a mismatch again on a line that has damaged frames.
    """

    def __init__(
        self, info: Info, stream: bytes,
        board: Callable[[tuple[int, ...]], Sample] | None = None,
    ) -> None:
        self.timeout = None
        self._info = info
        self._stream = stream
        self._board = board
        self._pos = 0
        self._out = bytearray()
        self._decoder = FrameDecoder()

    def write(self, data: bytes) -> int:
        for frame in self._decoder.feed(data):
            if frame.type == Cmd.INFO:
                self._out += encode_frame(Msg.INFO, frame.seq, pack_info(self._info))
            elif frame.type == Cmd.STREAM:
                self._out += encode_frame(Msg.ACK, frame.seq, bytes((Cmd.STREAM,)))
            elif frame.type == Cmd.INFER_RAW and self._board is not None:
                adc = struct.unpack("<4H", frame.payload)
                self._out += encode_frame(Msg.RESULT, frame.seq, pack_sample(self._board(adc)))
        return len(data)

    def read(self, n: int) -> bytes:
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            return data
        # up to a frame's end, as a board sends whole frames: a reply never lands inside one
        end = self._stream.rfind(b"\x00", self._pos, self._pos + READ_CHUNK) + 1
        data = self._stream[self._pos : end or self._pos + READ_CHUNK]
        self._pos += len(data)
        return data

    def close(self) -> None:
        pass


def recorded_stream(ref: Reference, n: int, seed: int = 0) -> bytes:
    """``n`` SAMPLE frames a correct board would send for random light levels."""
    rng = np.random.default_rng(seed)
    adc = rng.integers(0, 1024, size=(n, 4))
    cal = DEFAULT_CALIBRATION
    x = preprocess(ref.qm, adc, cal.dark, cal.bright)
    out = infer(ref.qm, x)
    cls = classify(out)
    return b"".join(
        encode_frame(Msg.SAMPLE, i & 0xFF, pack_sample(Sample(tuple(a), tuple(b), tuple(c), k)))
        for i, (a, b, c, k) in enumerate(
            zip(adc.tolist(), x.tolist(), out.tolist(), cls.tolist(), strict=True)
        )
    )


def _scalar_seconds(ref: Reference, stream: bytes, n: int) -> float:
    """The live path, frame by frame: BoardClient's decoder and dispatch, Verifier."""
    info = Info(PROTOCOL_VERSION, False, (0, 1, 0), 7, 4, 4, len(ref.qm.layers), 1,
                ref.qm.model_hash, DEFAULT_CALIBRATION, "replay")
    client = BoardClient(ReplayPort(info, stream))
    client.info()
    verifier = Verifier(ref)
    start = time.perf_counter()
    verifier.verify_stream(client, n=n)
    seconds = time.perf_counter() - start
    assert verifier.metrics.samples == n and verifier.metrics.mismatches == 0
    return seconds


def _vectorised_seconds(ref: Reference, stream: bytes, n: int) -> float:
    """The offline path: the whole recording decoded at once, compared in large batches."""
    start = time.perf_counter()
    result = verify_recording(ref, stream, DEFAULT_CALIBRATION)
    seconds = time.perf_counter() - start
    assert result.metrics.samples == n and result.metrics.mismatches == 0
    return seconds


def measure_offline(n: int, repeats: int = 3) -> dict:
    """Frames/s of the offline verifier and of the frame-by-frame live path on the same
    recording, alternating ``repeats`` times; medians."""
    ref = Reference.from_model(lesson_model(), "q7")
    stream = recorded_stream(ref, n)
    fast, scalar = [], []
    for _ in range(repeats):
        fast.append(_vectorised_seconds(ref, stream, n))
        scalar.append(_scalar_seconds(ref, stream, n))
    rate = n / statistics.median(fast)
    return {
        "frames": n,
        "seconds": round(statistics.median(fast), 3),
        "frames_per_second": round(rate),
        "frame_by_frame_frames_per_second": round(n / statistics.median(scalar)),
        "repeats": repeats,
        "target_frames_per_second": OFFLINE_TARGET,
        "meets_target": rate >= OFFLINE_TARGET,
    }


def measure_live(seconds: float, build_dir: Path) -> dict:
    from pixelnet.firmware.build import build_uno
    from pixelnet.firmware.virtual import start_virtual_board

    model = lesson_model()
    ref = Reference.from_model(model, "q7")
    elf = build_uno(model, "q7", build_dir / "uno").elf
    with start_virtual_board("uno", firmware=elf, state_dir=build_dir, realtime=True,
                             build_dir=build_dir) as board, BoardClient.open(board.port) as client:
        client.info()
        verifier = Verifier(ref)
        verifier.verify_stream(client, n=50)  # warm up: the stream is running at full rate
        start_samples, start = verifier.metrics.samples, time.perf_counter()
        verifier.verify_stream(client, seconds=seconds)
        elapsed = time.perf_counter() - start
        verified = verifier.metrics.samples - start_samples
        frame_bytes = len(encode_frame(Msg.SAMPLE, 1, bytes(sample_size(4, ref.qm.n_outputs))))
    line_limit = LINE_BYTES_PER_S / frame_bytes
    rate = verified / elapsed
    return {
        "samples": verified,
        "seconds": round(elapsed, 3),
        "verified_per_second": round(rate, 1),
        "sample_frame_bytes": frame_bytes,
        "line_limit_per_second": round(line_limit, 1),
        "fraction_of_line_rate": round(rate / line_limit, 3),
        "mismatches": verifier.metrics.mismatches,
        "meets_target": rate / line_limit >= LIVE_TARGET,
    }


def run(quick: bool = False) -> dict:
    """Both measurements; ``quick`` for a smoke run (smaller, shorter)."""
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-host-") as tmp:
        return {
            "offline_parse_and_verify": measure_offline(20_000 if quick else 200_000,
                                                        repeats=1 if quick else 3),
            "virtual_uno_live": measure_live(2.0 if quick else 10.0, Path(tmp)),
        }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
