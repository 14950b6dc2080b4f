"""The vectorised decoder and offline verifier against the scalar path, byte for byte.

Damaged streams (flipped bytes, cut frames, lost and repeated frames, garbage,
over-long junk, a frame whose numbers are wrong but whose CRC is good) must give
the same counts through ``verify_recording`` as through ``BoardClient`` +
``Verifier.verify_stream``, the path a live board takes.
"""

from __future__ import annotations

import numpy as np
import pytest

from pixelnet.bench.bench_host import ReplayPort, recorded_stream
from pixelnet.codegen.emulator import classify, infer, preprocess
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference
from pixelnet.host.fastframes import cobs_decode_rows, crc16_rows, decode_stream
from pixelnet.host.frames import FrameDecoder, cobs_encode, crc16, encode_frame
from pixelnet.host.messages import (
    DEFAULT_CALIBRATION,
    PROTOCOL_VERSION,
    Info,
    Msg,
    Sample,
    pack_sample,
    sample_dtype,
    unpack_sample,
)
from pixelnet.host.offline import sample_layout, verify_recording
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model

FRAMES = 3_000


@pytest.fixture(scope="module")
def ref() -> Reference:
    return Reference.from_model(lesson_model(), "q7")


@pytest.fixture(scope="module")
def clean(ref) -> list[bytes]:
    stream = recorded_stream(ref, FRAMES)
    return [frame + b"\x00" for frame in stream.split(b"\x00")[:-1]]


def wrong_sample(ref: Reference) -> Sample:
    """What the recorded board computed wrong (for the ADC counts 1, 2, 3, 4)."""
    return Sample((1, 2, 3, 4), (5, 6, 7, 8), tuple([9] * ref.qm.n_outputs), 0)


def recorded_board(ref: Reference):
    """The board of the recording, asked again: it repeats its wrong answer, and answers
    any other counts as the emulator does."""

    def answer(adc: tuple[int, ...]) -> Sample:
        if adc == wrong_sample(ref).adc:
            return wrong_sample(ref)
        cal = DEFAULT_CALIBRATION
        x = preprocess(ref.qm, np.array([adc]), cal.dark, cal.bright)
        out = infer(ref.qm, x)
        return Sample(adc, tuple(x[0].tolist()), tuple(out[0].tolist()),
                      int(classify(out)[0]))

    return answer


def damaged(frames: list[bytes], ref: Reference) -> bytes:
    """Every kind of damage the link can do, at seeded places; ends on a good frame."""
    rng = np.random.default_rng(7)
    out = []
    for i, frame in enumerate(frames[:-1]):
        kind = rng.integers(0, 40)
        if kind == 0:  # lost: a gap in the stream counter
            continue
        if kind == 1:  # repeated
            out += [frame, frame]
        elif kind == 2:  # a flipped byte: bad CRC or bad COBS
            b = bytearray(frame)
            b[rng.integers(0, len(b) - 1)] ^= 1 << int(rng.integers(0, 8))
            out.append(bytes(b).replace(b"\x00", b"\x01", 1) if b[:-1].count(0) else bytes(b))
        elif kind == 3:  # cut short
            out.append(frame[: int(rng.integers(1, len(frame) - 1))] + b"\x00")
        elif kind == 4:  # line noise, short or longer than any frame
            out.append(bytes(rng.integers(0, 256, int(rng.choice([3, 200]))).astype(np.uint8)))
            out.append(frame)
        elif kind == 5:  # a board that computed wrong, sent intact
            out.append(encode_frame(Msg.SAMPLE, i & 0xFF, pack_sample(wrong_sample(ref))))
        else:
            out.append(frame)
    out.append(frames[-1])
    return b"".join(out)


def scalar_path(ref: Reference, data: bytes, n: int) -> tuple[dict, Verifier]:
    info = Info(PROTOCOL_VERSION, False, (0, 1, 0), 7, 4, 4, len(ref.qm.layers), 1,
                ref.qm.model_hash, DEFAULT_CALIBRATION, "replay")
    client = BoardClient(ReplayPort(info, data, recorded_board(ref)))
    client.info()
    verifier = Verifier(ref)
    verifier.verify_stream(client, n=n)
    return client.stats.to_dict(), verifier


@pytest.mark.parametrize("damage", [False, True], ids=["clean", "damaged"])
def test_offline_counts_equal_the_scalar_paths(ref, clean, damage) -> None:
    data = damaged(clean, ref) if damage else b"".join(clean)
    fast = verify_recording(ref, data, DEFAULT_CALIBRATION)
    link, verifier = scalar_path(ref, data, fast.link["stream_samples"])
    replies = 3  # the replay port answers INFO and STREAM (started, then stopped) itself
    asked_again = verifier.confirmed + link["crc_escapes"]  # mismatches on a damaged line
    assert fast.link["frames"] == link["frames"] - replies - asked_again
    for key in ("bad_crc", "bad_frame", "too_long", "garbage_bytes", "stream_samples",
                "seq_gaps", "missed_samples", "duplicates", "seq_jumps"):
        assert fast.link[key] == link[key], key
    assert fast.metrics.samples == verifier.metrics.samples
    assert fast.metrics.mismatches == verifier.metrics.mismatches
    assert fast.metrics.argmax_agree == verifier.metrics.argmax_agree
    if damage:
        assert min(link["bad_crc"], link["bad_frame"], link["too_long"], link["seq_gaps"],
                   link["duplicates"], verifier.metrics.mismatches, asked_again) > 0, link


def test_decoded_payloads_are_the_scalar_decoders(ref, clean) -> None:
    data = b"".join(clean[:50])
    fast = decode_stream(data, sample_layout(4, ref.qm.n_outputs))
    frames = FrameDecoder().feed(data)
    assert fast.seq.tolist() == [f.seq for f in frames]
    dtype = sample_dtype(4, ref.qm.n_outputs)
    assert fast.payload.tobytes() == b"".join(f.payload for f in frames)
    assert unpack_sample(fast.payload[:1].tobytes(), 4, ref.qm.n_outputs) == unpack_sample(
        frames[0].payload, 4, ref.qm.n_outputs)
    assert dtype.itemsize == len(frames[0].payload)


def test_row_cobs_and_crc_match_the_scalar_functions() -> None:
    rng = np.random.default_rng(3)
    bodies = rng.integers(0, 4, (200, 12)).astype(np.uint8)  # many zeros: long code chains
    wire = np.array([list(cobs_encode(bytes(b))) for b in bodies], dtype=np.uint8)
    decoded, ok = cobs_decode_rows(wire)
    assert ok.all() and (decoded == bodies).all()
    assert crc16_rows(bodies).tolist() == [crc16(bytes(b)) for b in bodies]
    broken = wire.copy()
    broken[:, 0] = 14  # the code chain runs past the end of the 13-byte rows
    assert not cobs_decode_rows(broken)[1].any()
