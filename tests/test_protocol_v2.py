"""Protocol version 2: compact frames, batched INFER and the negotiated line, on both sides.

The board side is the Uno's C core compiled for the host (the driver of
test_arduino_protocol) and the Python fake board; the host side is BoardClient.
Both directions of compatibility are checked: a version 1 host with a version 2
board, and a version 2 host with a version 1 board.
"""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelnet import codegen
from pixelnet.host.client import BoardClient, BoardErrorReply
from pixelnet.host.connect import check_handshake
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.frames import MAX_PAYLOAD
from pixelnet.host.messages import (
    COMPACT_ADC_BYTES,
    Cmd,
    ErrorCode,
    Msg,
    ProtocolError,
    Sample,
    argmax_class,
    batch_capacity,
    pack_adc10,
    pack_compact_sample,
    pack_values,
    unpack_adc10,
    unpack_compact_sample,
    unpack_info,
    unpack_results,
    unpack_sample,
)
from pixelnet.trainer.lesson import lesson_model
from tests.test_arduino_protocol import ADC, board, cmd, error_of  # noqa: F401  (fixture)

counts = st.tuples(*[st.integers(0, 1023)] * 4)


@settings(max_examples=200, deadline=None)
@given(counts)
def test_four_counts_pack_into_five_bytes_and_back(adc):
    packed = pack_adc10(adc)
    assert len(packed) == COMPACT_ADC_BYTES == 5
    assert unpack_adc10(packed) == adc
    assert int.from_bytes(packed, "little") == sum(c << (10 * i) for i, c in enumerate(adc))


@settings(max_examples=200, deadline=None)
@given(counts, st.lists(st.integers(-127, 127), min_size=8, max_size=8))
def test_a_compact_sample_round_trips_and_derives_the_class(adc, values):
    sample = Sample(adc, tuple(values[:4]), tuple(values[4:]), argmax_class(values[4:]))
    payload = pack_compact_sample(sample, 1)
    assert len(payload) == 13  # against 25 bytes in a version 1 SAMPLE
    assert unpack_compact_sample(payload, 4, 4, 1) == sample


def test_the_class_is_the_first_of_equal_outputs_as_on_the_board():
    assert argmax_class((3, 7, 7, -1)) == 1


def test_a_compact_payload_of_the_wrong_size_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="compact sample payload of 12 bytes, expected 13"):
        unpack_compact_sample(bytes(12), 4, 4, 1)
    with pytest.raises(ProtocolError, match="not a whole number"):
        unpack_results(bytes(7), 4, 1)


def test_a_batch_fills_a_frame_in_both_directions():
    assert batch_capacity(4, 4, 1) == 15 and batch_capacity(4, 4, 2) == 7
    assert batch_capacity(4, 8, 1) == 7  # eight outputs: the RESULTS frame is the limit


# -- the Uno's C core on the host ----------------------------------------------------------


def _value_bytes(board) -> int:  # noqa: F811
    return 1 if board.qm.format_bits <= 7 else 2


def test_info_says_version_2_while_proto_stays_1(board):  # noqa: F811
    boot, _ = board.run(b"")
    info = unpack_info(boot.payload)
    assert (info.proto, info.v2, info.protocol, info.boot) == (1, True, 2, True)
    check_handshake(info, info.model_hash)  # a version 1 host accepts it


def test_infer_batch_equals_the_emulator(board):  # noqa: F811
    qm, vb = board.qm, _value_bytes(board)
    lim = (1 << qm.format_bits) - 1
    per_frame = batch_capacity(4, 4, vb)
    xs = np.random.default_rng(3).integers(-lim, lim + 1, size=(per_frame * 5 + 3, 4))
    xs[:2] = [[-lim] * 4, [lim] * 4]
    chunks = [xs[i : i + per_frame] for i in range(0, len(xs), per_frame)]
    data = b"".join(cmd(Cmd.INFER_BATCH, i, pack_values(c.ravel().tolist(), vb))
                    for i, c in enumerate(chunks))
    _, replies = board.run(data)
    assert [(f.type, f.seq) for f in replies] == [(Msg.RESULTS, i) for i in range(len(chunks))]
    outs = [o for f in replies for o in unpack_results(f.payload, 4, vb)]
    assert np.array_equal(outs, codegen.infer(qm, xs))


def test_a_bad_batch_is_refused_whole(board):  # noqa: F811
    vb = _value_bytes(board)
    lim = (1 << board.qm.format_bits) - 1
    too_big = bytes(MAX_PAYLOAD // (4 * vb) * 4 * vb + 4 * vb)[:MAX_PAYLOAD]
    _, replies = board.run(
        cmd(Cmd.INFER_BATCH, 1, pack_values([0, 0, 0, 0, 0, -lim - 1, 0, 0], vb))
        + cmd(Cmd.INFER_BATCH, 2, b"")
        + cmd(Cmd.INFER_BATCH, 3, bytes(4 * vb + 1))
        + cmd(Cmd.INFER_BATCH, 4, too_big if len(too_big) % (4 * vb) else too_big + bytes(0))
    )
    assert [error_of(f)[:2] for f in replies[:3]] == [
        (1, ErrorCode.BAD_ARG), (2, ErrorCode.BAD_LENGTH), (3, ErrorCode.BAD_LENGTH)]


def test_the_compact_stream_carries_what_the_version_1_stream_does(board):  # noqa: F811
    vb = _value_bytes(board)
    v1 = cmd(Cmd.STREAM, 1, struct.pack("<H", 1000))
    v2 = cmd(Cmd.STREAM, 2, struct.pack("<HB", 1000, 1))
    stop = cmd(Cmd.STREAM, 3, struct.pack("<H", 0))
    _, replies = board.run(v1 + b"\x00" * 40 + v2 + b"\x00" * 40 + stop)
    full = [unpack_sample(f.payload, 4, 4) for f in replies if f.type == Msg.SAMPLE]
    compact = [unpack_compact_sample(f.payload, 4, 4, vb)
               for f in replies if f.type == Msg.SAMPLE_COMPACT]
    assert full and compact and set(compact) == {full[0]}
    assert full[0].adc == ADC
    stream_seqs = [f.seq for f in replies if f.type in (Msg.SAMPLE, Msg.SAMPLE_COMPACT)]
    assert stream_seqs == list(range(len(stream_seqs)))
    _, refused = board.run(cmd(Cmd.STREAM, 4, struct.pack("<HB", 10, 2)))
    assert [error_of(f) for f in refused] == [(4, ErrorCode.BAD_ARG, Cmd.STREAM)]


def test_a_board_without_a_baud_hook_takes_only_115200(board):  # noqa: F811
    _, replies = board.run(cmd(Cmd.BAUD, 1, struct.pack("<I", 1_000_000))
                           + cmd(Cmd.BAUD, 2, struct.pack("<I", 115_200))
                           + cmd(Cmd.BAUD, 3, b"\x00"))
    assert error_of(replies[0]) == (1, ErrorCode.BAD_ARG, Cmd.BAUD)
    assert (replies[1].type, replies[1].seq, replies[1].payload) == (Msg.ACK, 2, bytes([Cmd.BAUD]))
    assert error_of(replies[2]) == (3, ErrorCode.BAD_LENGTH, Cmd.BAUD)


# -- host and fake board, every pairing of versions ---------------------------------------


@pytest.fixture(scope="module")
def arithmetic():
    return EmulatorArithmetic(codegen.quantize(lesson_model(), "q7"))


def _check_samples(arithmetic, client, samples):
    qm = arithmetic.qm
    info = client.last_info
    xs = codegen.preprocess(qm, np.array([s.adc for s in samples]), info.calibration.dark,
                            info.calibration.bright)
    assert np.array_equal([s.x for s in samples], xs)
    assert np.array_equal([s.out for s in samples], codegen.infer(qm, xs))


def test_a_version_2_host_and_board_go_fast_and_compact(arithmetic):
    with FakeBoard(arithmetic, adc=(100, 900, 300, 700)) as fake, \
            BoardClient.open(fake.port, reply_timeout=0.3) as client:
        client.info()
        assert client.upgrade(1_000_000) == 1_000_000
        assert (client.protocol, fake.baud, client.stats.baud_fallbacks) == (2, 1_000_000, 0)
        client.stream(0xFFFF)
        samples = [s for _, s in client.samples(50)]
        client.stream(0)
        assert fake.compact
        _check_samples(arithmetic, client, samples)
        xs = np.random.default_rng(0).integers(-127, 128, size=(40, 4)).tolist()
        frames_before = client.stats.frames
        results = client.infer_many(xs)
        assert [list(r.x) for r in results] == xs
        assert np.array_equal([r.out for r in results], codegen.infer(arithmetic.qm, xs))
        assert client.stats.frames - frames_before == 3  # 15 + 15 + 10 vectors, 3 replies


def test_a_version_2_host_speaks_version_1_to_an_old_board(arithmetic):
    with FakeBoard(arithmetic, protocol=1) as fake, \
            BoardClient.open(fake.port, reply_timeout=0.3) as client:
        assert not client.info().v2
        assert client.upgrade(1_000_000) == 115_200
        assert client.protocol == 1 and client.stats.board_errors == 0
        client.stream(0xFFFF)
        samples = [s for _, s in client.samples(20)]
        client.stream(0)
        assert not fake.compact
        _check_samples(arithmetic, client, samples)
        assert client.infer_many([[1, 2, 3, 4]])[0].out == tuple(
            codegen.infer(arithmetic.qm, np.array([[1, 2, 3, 4]]))[0])


def test_a_version_1_host_is_served_version_1_by_a_new_board(arithmetic):
    with FakeBoard(arithmetic) as fake, BoardClient.open(fake.port, reply_timeout=0.3) as client:
        info = client.info()  # no upgrade: what a host from before version 2 does
        check_handshake(info, arithmetic.model_hash)
        client.stream(0xFFFF)
        samples = [s for _, s in client.samples(20)]
        client.stream(0)
        assert not fake.compact and fake.baud == 115_200
        _check_samples(arithmetic, client, samples)


def test_a_speed_the_line_cannot_carry_falls_back_to_115200(arithmetic):
    with FakeBoard(arithmetic, deaf_at=(1_000_000,)) as fake, \
            BoardClient.open(fake.port, reply_timeout=0.3) as client:
        client.info()
        assert client.upgrade(1_000_000) == 115_200
        assert client.stats.baud_fallbacks == 1 and fake.baud == 115_200
        assert client.protocol == 2  # compact frames and batches still help at 115,200
        client.stream(0xFFFF)
        assert len(list(client.samples(10))) == 10
        client.stream(0)


def test_a_refused_speed_keeps_the_line(arithmetic):
    with FakeBoard(arithmetic) as fake, BoardClient.open(fake.port, reply_timeout=0.3) as client:
        client.info()
        assert client.upgrade(921_600) == 115_200
        assert client.stats.baud_fallbacks == 0


def test_a_batched_vector_outside_the_format_is_refused_as_a_single_one(arithmetic):
    with FakeBoard(arithmetic) as fake, BoardClient.open(fake.port, reply_timeout=0.3) as client:
        client.info()
        client.upgrade()
        with pytest.raises(BoardErrorReply, match="INFER: BAD_ARG"):
            client.infer_many([[0, 0, 0, 0], [200, 0, 0, 0]])
        with pytest.raises(BoardErrorReply, match="INFER_BATCH: BAD_ARG"):
            client.infer_many([[0, 0, 0, -128]])


def test_a_restart_on_a_fast_line_is_found_at_115200(arithmetic):
    with FakeBoard(arithmetic, check_speed=True) as fake, \
            BoardClient.open(fake.port, reply_timeout=0.3) as client:
        client.info()
        client.upgrade(1_000_000)
        fake.reset()  # back at 115,200: its boot INFO is lost at our speed
        deadline = time.monotonic() + 5
        while fake.baud != 115_200 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.infer_many([[1, 1, 1, 1]])[0].x == (1, 1, 1, 1)
        assert client.baudrate == 115_200 and client.stats.baud_fallbacks == 1


def test_compact_frames_and_batches_over_a_damaged_line_count_every_fault(arithmetic):
    from pixelnet.host.compare import Reference
    from pixelnet.host.faults import FaultRates, FaultyLine
    from pixelnet.host.vectors import random_vectors
    from pixelnet.host.verify import Verifier

    noisy = FaultRates(corrupt=0.002, drop=0.001, duplicate=0.001, insert=0.001)
    with FakeBoard(arithmetic, adc=(900, 60, 900, 60)) as fake, \
            FaultyLine(fake.port, to_host=noisy, to_board=noisy, seed=11) as line, \
            BoardClient.open(line.port) as client:
        info = client.info()
        client.upgrade()
        assert client.protocol == 2
        verifier = Verifier(Reference.from_model(lesson_model(), "q7"))
        verifier.verify_stream(client, n=1500)
        verifier.verify_vectors(client, *random_vectors(1500))
        report = verifier.report(info, client.stats.to_dict())
    assert fake.compact
    assert report["samples"] == 3000 and report["bit_exact_mismatches"] == 0
    link = report["link"]
    assert link["resyncs"] > 0 and link["seq_gaps"] > 0
    assert link["missed_samples"] >= link["seq_gaps"]
