"""BoardClient against a protocol-exact Python board on a pseudo-terminal."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import serial

from pixelnet.host.client import (
    BoardClient,
    BoardErrorReply,
    BoardTimeout,
    PortClosedError,
)
from pixelnet.host.fake_board import FakeBoard
from pixelnet.host.fastframes import sequence_counts
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import (
    MAX_SEQ_GAP,
    CalOp,
    Cmd,
    ErrorCode,
    Msg,
    Sample,
    pack_sample,
)


class ToyArithmetic:
    """Two layers anyone can check by hand: x scaled from counts, then x and its reverse."""

    format_bits = 7
    model_hash = "0123456789abcdef"
    layer_sizes = (4, 4)

    def preprocess(self, adc, dark, bright):
        return [
            max(-128, min(127, (a - d) * 255 // (b - d) - 128))
            for a, d, b in zip(adc, dark, bright, strict=True)
        ]

    def infer_trace(self, x):
        return [list(x), list(x)[::-1]]


@pytest.fixture()
def board():
    with FakeBoard(ToyArithmetic(), adc=(100, 200, 300, 1023)) as b:
        yield b


@pytest.fixture()
def client(board):
    with BoardClient.open(board.port, reply_timeout=0.3) as c:
        yield c


def test_info_reports_the_boards_model_and_calibration(client):
    info = client.info()
    assert (info.proto, info.format, info.n_in, info.n_out, info.n_layers) == (1, 7, 4, 4, 2)
    assert info.model_hash == "0123456789abcdef"
    assert info.calibration.dark == (0, 0, 0, 0) and info.board == "fake"
    assert not info.boot


def test_infer_returns_what_the_board_computed(client):
    client.info()
    result = client.infer([1, -2, 3, 100])
    assert result == Sample((0, 0, 0, 0), (1, -2, 3, 100), (100, 3, -2, 1), 0)


def test_infer_raw_goes_through_the_calibration(client):
    cal = client.calibrate(CalOp.SET, dark=[100] * 4, bright=[900] * 4)
    assert cal.source == 2 and cal.dark == (100,) * 4
    result = client.infer_raw([100, 500, 900, 1000])
    assert result.x == (-128, (400 * 255) // 800 - 128, 127, 127)


def test_infer_many_keeps_request_order_with_requests_in_flight(client):
    xs = [[i, -i, i // 2, 7] for i in range(-120, 120, 3)]
    results = client.infer_many(xs)
    assert [list(r.x) for r in results] == xs
    assert [list(r.out) for r in results] == [x[::-1] for x in xs]


def test_trace_returns_every_layer_then_the_result(client):
    layers, result = client.trace([5, 6, 7, 8])
    assert [layer.layer for layer in layers] == [0, 1]
    assert layers[1].act == (8, 7, 6, 5) and result.out == (8, 7, 6, 5)


def test_calibrate_dark_measures_the_sensor_now(client, board):
    board.set_adc((40, 41, 42, 43))
    assert client.calibrate(CalOp.DARK).dark == (40, 41, 42, 43)
    assert client.calibrate(CalOp.RESET).dark == (0, 0, 0, 0)


def test_board_error_reply_carries_the_code(client):
    with pytest.raises(BoardErrorReply) as err:
        client.infer_raw([0, 0, 0, 1024])
    assert err.value.code == ErrorCode.BAD_ARG and err.value.cmd == Cmd.INFER_RAW
    with pytest.raises(BoardErrorReply, match="BAD_ARG"):
        client.set_averaging(0)
    assert client.infer([1, 1, 1, 1]).x == (1, 1, 1, 1)  # the client is still usable


def test_out_of_range_arguments_are_refused_before_sending(client):
    with pytest.raises(ValueError, match="expected 4"):
        client.infer([1, 2, 3])
    with pytest.raises(ValueError, match="u16"):
        client.infer_raw([0, 0, 0, 70000])
    with pytest.raises(ValueError, match="rate"):
        client.stream(-1)


def test_stream_delivers_consecutive_samples_and_stops(client, board):
    client.info()
    board.set_adc((0, 1023, 0, 1023))
    client.stream(500)
    got = list(client.samples(20))
    seqs = [seq for seq, _ in got]
    assert seqs == [(seqs[0] + i) & 0xFF for i in range(20)]
    assert all(s.adc == (0, 1023, 0, 1023) for _, s in got)
    client.stream(0)
    assert client.stats.seq_gaps == 0 and client.stats.stream_samples == 20


def test_reset_returns_the_boot_info_and_counts_it(client):
    client.info()
    info = client.reset()
    assert info.boot and client.stats.resets == 1


def test_stream_resumes_after_the_board_restarts(client, board):
    client.info()
    client.set_averaging(4)
    client.stream(300)
    list(client.samples(5))
    board.reset()
    after = list(client.samples(10, timeout=2.0))
    assert len(after) == 10
    assert client.stats.resets == 1
    assert client.info().averaging == 4  # given back after the restart


def test_silent_board_times_out_after_bounded_retries():
    master, slave = os.openpty()
    try:
        port = serial.Serial(os.ttyname(slave), timeout=0.01)
        client = BoardClient(port, reply_timeout=0.05, retries=2)
        with pytest.raises(BoardTimeout, match="no reply to INFO after 3 tries"):
            client.info()
        assert client.stats.retries == 2
        client.close()
    finally:
        os.close(master)
        os.close(slave)


class _ScriptedPort:
    """A serial-like object whose board answers from a script, to control every byte."""

    def __init__(self, replies):
        self.timeout = None
        self._replies = list(replies)
        self._out = bytearray()
        self.written = bytearray()

    def write(self, data):
        self.written += data
        if data != b"\x00" and self._replies:
            self._out += self._replies.pop(0)

    def read(self, n):
        data, self._out[:] = bytes(self._out[:n]), self._out[n:]
        return data

    def close(self):
        pass


def _result(seq, x=(1, 2, 3, 4)):
    return encode_frame(Msg.RESULT, seq, pack_sample(Sample((0,) * 4, x, x, 3)))


def test_corrupted_reply_is_never_returned_and_the_command_is_resent():
    bad = bytearray(_result(0, (9, 9, 9, 9)))
    bad[3] ^= 0x40
    port = _ScriptedPort([bytes(bad), _result(0)])
    client = BoardClient(port, reply_timeout=0.05)
    assert client.infer([1, 2, 3, 4]).x == (1, 2, 3, 4)
    assert client.stats.resyncs == 1 and client.stats.retries == 1


class _AnsweringPort(_ScriptedPort):
    """A board that answers every request it reads with ``answer(frame, nth)``."""

    def __init__(self, answer):
        super().__init__([])
        self._answer = answer
        self._decoder = FrameDecoder()
        self.requests = 0

    def write(self, data):
        self.written += data
        for frame in self._decoder.feed(data):
            self._out += self._answer(frame, self.requests)
            self.requests += 1


def test_one_unread_request_is_sent_again_once_not_every_request_in_flight():
    """A damaged frame is evidence against one try: re-sending every request in flight
    for it makes a noisy line noisier (more frames to damage) until nothing gets through."""

    def answer(frame, nth):
        if nth == 0:  # the board could not read the first request
            return encode_frame(Msg.ERROR, 0, bytes((ErrorCode.BAD_CRC, 0)))
        return _result(frame.seq, tuple(frame.payload[::2]))

    port = _AnsweringPort(answer)
    client = BoardClient(port, reply_timeout=5.0)
    xs = [(k, k, k, k) for k in range(1, 5)]
    assert [s.x for s in client.infer_many(xs)] == xs
    assert port.requests == len(xs) + 1 and client.stats.retries == 1


def test_duplicate_and_stale_replies_are_dropped():
    port = _ScriptedPort([_result(0) + _result(0) + _result(77), _result(1, (5, 5, 5, 5))])
    client = BoardClient(port, reply_timeout=0.05)
    assert client.infer([1, 2, 3, 4]).x == (1, 2, 3, 4)
    assert client.infer([5, 5, 5, 5]).x == (5, 5, 5, 5)
    assert client.stats.duplicates == 2


def test_stream_gaps_and_duplicates_are_counted():
    stream = b"".join(
        encode_frame(Msg.SAMPLE, seq, pack_sample(Sample((seq,) * 4, (0,) * 4, (0,) * 4, 0)))
        for seq in (254, 255, 255, 0, 3, 4)
    )
    port = _ScriptedPort([])
    port._out += stream
    client = BoardClient(port)
    got = [seq for seq, _ in client.samples(5, timeout=0.2)]
    assert got == [254, 255, 0, 3, 4]
    stats = client.stats
    assert (stats.duplicates, stats.seq_gaps, stats.missed_samples) == (1, 1, 2)


# (stream counters, (duplicates, seq_gaps, missed_samples, seq_jumps)): the same rule for
# the live client and the vectorised offline path.
STREAM_COUNTER_CASES = {
    "in order across the wrap": ((254, 255, 0, 1), (0, 0, 0, 0)),
    "a repeat and a gap": ((254, 255, 255, 0, 3, 4), (1, 1, 2, 0)),
    "the longest gap counted": ((0, MAX_SEQ_GAP), (0, 1, MAX_SEQ_GAP - 1, 0)),
    "one further is a jump": ((0, MAX_SEQ_GAP + 1, MAX_SEQ_GAP + 2), (0, 0, 0, 1)),
    "one forged counter behind": ((10, 11, 12, 200, 13, 14), (0, 0, 0, 2)),
    "one forged counter just ahead": ((10, 11, 12, 20, 13, 14), (0, 1, 7, 1)),
    "a restart whose boot INFO was lost": ((100, 101, 0, 1, 2), (0, 0, 0, 1)),
}


@pytest.mark.parametrize("seqs, expected", STREAM_COUNTER_CASES.values(),
                         ids=STREAM_COUNTER_CASES.keys())
def test_stream_counter_jumps_are_judged_alike_live_and_offline(seqs, expected):
    port = _ScriptedPort([])
    port._out += b"".join(
        encode_frame(Msg.SAMPLE, seq, pack_sample(Sample((seq,) * 4, (0,) * 4, (0,) * 4, 0)))
        for seq in seqs
    )
    client = BoardClient(port)
    kept = [seq for seq, _ in client.samples(len(seqs) - expected[0], timeout=0.2)]
    s = client.stats
    assert (s.duplicates, s.seq_gaps, s.missed_samples, s.seq_jumps) == expected
    fast = sequence_counts(np.array(seqs, dtype=np.int64))
    assert (fast.duplicates, fast.seq_gaps, fast.missed_samples, fast.seq_jumps) == expected
    assert np.array(seqs)[fast.kept].tolist() == kept


def test_port_closing_mid_command_is_a_clear_error(board):
    client = BoardClient.open(board.port, reply_timeout=0.2)
    client.info()
    closer = threading.Timer(0.05, client._port.close)
    closer.start()
    with pytest.raises((PortClosedError, BoardTimeout)):
        while True:
            client.infer([1, 2, 3, 4])
    closer.join()


def test_calibration_change_is_what_later_samples_are_checked_with(client):
    client.info()
    cal = client.calibrate(CalOp.SET, dark=[10, 20, 30, 40], bright=[900] * 4)
    assert client.last_info.calibration == cal


def test_a_stream_that_falls_silent_is_asked_for_again(client, board):
    """As after a restart whose boot INFO was lost on the line: STREAM is re-sent."""
    client.info()
    client.stream(500)
    list(client.samples(5))
    board.rate = 0  # the board stops streaming without a word
    assert len(list(client.samples(5, timeout=3.0))) == 5
    assert client.stats.retries >= 1 and client.stats.resets == 0
