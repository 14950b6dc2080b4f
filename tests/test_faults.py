"""A damaged serial line, board resets and a vanishing port: the host survives and tells."""

from __future__ import annotations

import contextlib
import csv
import json
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelnet.cli import main
from pixelnet.host.client import BoardClient, BoardTimeout
from pixelnet.host.compare import Reference
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.faults import FaultCounts, FaultRates, FaultyLine, mangle
from pixelnet.host.frames import encode_frame
from pixelnet.host.messages import Msg, Sample, pack_sample
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model

NOISY = FaultRates(corrupt=0.002, drop=0.001, duplicate=0.001, insert=0.001)


@pytest.fixture(scope="module")
def ref():
    return Reference.from_model(lesson_model(), "q7")


@pytest.fixture()
def board(ref):
    with FakeBoard(EmulatorArithmetic(ref.qm), adc=(900, 60, 900, 60)) as b:
        yield b


def test_mangle_does_what_the_rates_say():
    rng = np.random.default_rng(1)
    data = bytes(range(256)) * 40
    assert mangle(data, FaultRates(), rng) == data
    assert mangle(data, FaultRates(drop=1.0), rng) == b""
    assert mangle(b"abc", FaultRates(duplicate=1.0), rng) == b"aabbcc"
    assert len(mangle(b"abc", FaultRates(insert=1.0), rng)) == 6
    counts = FaultCounts()
    out = mangle(data, FaultRates(corrupt=0.1, drop=0.05), rng, counts)
    assert len(out) == len(data) - counts.dropped
    assert 700 < counts.corrupted < 1350 and 350 < counts.dropped < 700
    with pytest.raises(ValueError, match="outside"):
        FaultRates(drop=1.5)


def test_verify_over_a_damaged_line_counts_only_good_frames(ref, board):
    with FaultyLine(board.port, to_host=NOISY, to_board=NOISY, seed=7) as line:
        with BoardClient.open(line.port) as client:
            info = client.info()
            verifier = Verifier(ref)
            verifier.verify_stream(client, n=600)
            verifier.verify_vectors(client, *random_vectors(1500))
            report = verifier.report(info, client.stats.to_dict())
        damage = line.counts["to_host"]
    assert report["passed"], report["failures"]
    assert report["samples"] == 2100 and report["bit_exact_mismatches"] == 0
    link = report["link"]
    assert damage.corrupted > 0 and damage.dropped > 0
    assert link["resyncs"] > 0 and link["retries"] > 0
    assert link["seq_gaps"] > 0 and link["missed_samples"] >= link["seq_gaps"]


def test_stream_survives_board_resets(ref, board):
    with BoardClient.open(board.port) as client:
        info = client.info()
        verifier = Verifier(ref)
        resets = [threading.Timer(t, board.reset) for t in (0.2, 0.5)]
        for timer in resets:
            timer.start()
        verifier.verify_stream(client, n=1000)
        for timer in resets:
            timer.join()
        report = verifier.report(info, client.stats.to_dict())
    assert report["passed"] and report["samples"] == 1000
    assert report["link"]["resets"] == 2


def test_port_closing_mid_stream_keeps_every_good_sample(board, tmp_path, capsys):
    model = save_model(lesson_model(), tmp_path / "m.json")
    log, report = tmp_path / "l.csv", tmp_path / "r.json"
    with FaultyLine(board.port, to_host=NOISY, seed=3) as line:
        threading.Thread(target=_close_once_logged, args=(line, log), daemon=True).start()
        code = main(["verify", "--model", str(model), "--port", line.port, "--seconds", "30",
                     "--log", str(log), "--report", str(report)])
    assert code == 2
    captured = capsys.readouterr()
    data = json.loads(report.read_text())
    assert "FAIL: aborted: the board went away" in captured.out
    err = captured.err.strip().splitlines()
    assert err[-1] == (
        f"pixelnet verify: error: the board went away after {data['samples']:,} samples"
    )
    assert all(line.startswith("verifying") for line in err[:-1]), err  # progress lines only
    rows = list(csv.DictReader(log.open()))
    assert len(rows) == data["samples"] > 0
    assert all(r["exact"] == "1" for r in rows) and data["bit_exact_mismatches"] == 0


def _close_once_logged(line: FaultyLine, log, rows: int = 32) -> None:
    """Pull the cable mid-run: once samples are logged, however slow the machine is."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        log.exists() and log.read_text().count("\n") > rows
    ):
        time.sleep(0.01)
    line.close()


# -- the same on the virtual Uno (the real firmware in simavr) ----------------


def _firmware(board, build):
    if board == "uno":
        from pixelnet.firmware.build import build_uno

        return build_uno(lesson_model(), "q7", build).elf
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    return prepare_micropython_files(lesson_model(), "q7", build / "files")


@pytest.mark.slow
@pytest.mark.parametrize("board", ["uno", "micropython"])
def test_virtual_board_over_a_damaged_line_with_a_reset(ref, board, tmp_path):
    from pixelnet.firmware.virtual import start_virtual_board

    firmware = _firmware(board, tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    with (
        start_virtual_board(board, firmware=firmware, state_dir=state, scene="vertical_left",
                            build_dir=tmp_path) as virtual,
        FaultyLine(virtual.port, to_host=NOISY, to_board=NOISY, seed=11) as line,
        BoardClient.open(line.port) as client,
    ):
        info = client.info()
        verifier = Verifier(ref)
        reset = threading.Timer(0.3, virtual.reset)  # mid-stream, as a pulled DTR line
        reset.start()
        verifier.verify_stream(client, n=1200, truth=1)
        reset.join()
        verifier.verify_vectors(client, *random_vectors(1500))
        report = verifier.report(info, client.stats.to_dict())
    assert report["bit_exact_mismatches"] == 0 and report["passed"], report["failures"]
    assert report["samples"] == 2700
    link = report["link"]
    assert link["resyncs"] > 0 and link["retries"] > 0
    assert link["resets"] <= 1  # the boot INFO itself may be lost on this line
    assert report["phases"][0]["correct"] == report["phases"][0]["labelled"] == 1200


@pytest.mark.slow
@pytest.mark.parametrize("board", ["uno", "micropython"])
def test_virtual_board_reset_mid_stream_is_seen_and_the_stream_resumes(ref, board, tmp_path):
    from pixelnet.firmware.virtual import start_virtual_board

    firmware = _firmware(board, tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    with (
        start_virtual_board(board, firmware=firmware, state_dir=state, scene="solid_black",
                            build_dir=tmp_path) as virtual,
        BoardClient.open(virtual.port) as client,
    ):
        info = client.info()
        client.set_averaging(4)
        verifier = Verifier(ref)
        reset = threading.Timer(0.3, virtual.reset)
        reset.start()
        verifier.verify_stream(client, n=1000, truth=0)
        reset.join()
        report = verifier.report(info, client.stats.to_dict())
        assert client.info().averaging == 4  # given back after the restart
    assert report["passed"] and report["samples"] == 1000
    assert report["link"]["resets"] == 1


# -- the client on arbitrary damage (property) ---------------------------------


class _StreamPort:
    """A serial-like object that only plays back bytes: a board streaming into a bad line."""

    def __init__(self, data: bytes) -> None:
        self.timeout = None
        self._data = data

    def write(self, data: bytes) -> int:
        return len(data)

    def read(self, n: int) -> bytes:
        data, self._data = self._data[:7], self._data[7:]  # odd chunks split frames anywhere
        return data

    def close(self) -> None:
        pass


_sample_st = st.builds(
    Sample,
    adc=st.tuples(*[st.integers(0, 1023)] * 4),
    x=st.tuples(*[st.integers(-127, 127)] * 4),
    out=st.tuples(*[st.integers(-127, 127)] * 4),
    cls=st.integers(0, 3),
)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    st.lists(_sample_st, min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=20),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=40)), max_size=5),
)
def test_client_delivers_only_samples_that_were_sent(samples, flips, inserts):
    stream = bytearray(
        b"".join(encode_frame(Msg.SAMPLE, i, pack_sample(s)) for i, s in enumerate(samples))
    )
    for position, value in flips:
        stream[position % len(stream)] = value
    for position, junk in inserts:
        stream[position % len(stream) : position % len(stream)] = junk
    client = BoardClient(_StreamPort(bytes(stream)))
    got = []
    with contextlib.suppress(BoardTimeout):
        got.extend(client.samples(timeout=0.02))
    sent = dict(enumerate(samples))
    assert all(sent.get(seq) == sample for seq, sample in got)
    stats = client.stats
    assert stats.stream_samples == len(got) <= len(samples)
