"""Protocol version 2 end to end on the virtual boards: the real firmware, the real host.

The virtual Uno runs the very ELF that would be flashed, and simavr times its
UART from UBRR: after BAUD the board really sends at 1,000,000 baud in
simulated time. The virtual MicroPython board acknowledges BAUD and keeps its
pty as it is (it has no UART to change).
"""

from __future__ import annotations

import pytest

from pixelnet.firmware.build import build_uno
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.firmware.virtual_micropython import (
    prepare_micropython_files,
    start_virtual_micropython,
)
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model

pytestmark = pytest.mark.slow

FAST = 1_000_000
F_CPU = 16_000_000


@pytest.fixture(scope="module")
def uno_elfs(tmp_path_factory):
    build = tmp_path_factory.mktemp("uno")
    return {
        "core": build_uno(lesson_model(), "q7", build).elf,
        "bare": build_uno(lesson_model(), "q7", build, core=False).elf,
    }


def _verify_fast(client: BoardClient, samples: int, vectors: int) -> Verifier:
    client.info()
    assert client.upgrade(FAST) == FAST and client.protocol == 2
    verifier = Verifier(Reference.from_model(lesson_model(), "q7"))
    verifier.verify_stream(client, n=samples)
    verifier.verify_vectors(client, *random_vectors(vectors))
    assert verifier.metrics.samples == samples + vectors
    assert verifier.metrics.mismatches == 0
    stats = client.stats
    assert (stats.bad_crc, stats.bad_frame, stats.seq_gaps, stats.baud_fallbacks) == (0, 0, 0, 0)
    return verifier


@pytest.mark.parametrize("build", ["core", "bare"])
def test_the_virtual_uno_verifies_at_a_megabaud(uno_elfs, build, tmp_path):
    with start_virtual_board("uno", firmware=uno_elfs[build], state_dir=tmp_path,
                             scene="vertical_left", build_dir=tmp_path) as board, \
            BoardClient.open(board.port) as client:
        _verify_fast(client, 300, 200)
        # simavr's UART at UBRR 1 + U2X: faster than 115,200 baud could ever carry
        client.stream(0xFFFF)
        samples = client.samples(None)
        next(samples)
        start = board.cycle_stats().cycles
        for _ in range(200):
            next(samples)
        rate = 200 / ((board.cycle_stats().cycles - start) / F_CPU)
        client.stream(0)
        assert rate > 1_000  # 115,200 baud carries at most 372 version 1 SAMPLE frames/s


def test_the_virtual_uno_goes_back_to_115200_after_a_reset(uno_elfs, tmp_path):
    with start_virtual_board("uno", firmware=uno_elfs["core"], state_dir=tmp_path,
                             build_dir=tmp_path) as board, BoardClient.open(board.port) as client:
        client.info()
        client.upgrade(FAST)
        board.reset()
        assert client.reset().board == "uno"  # found again, whichever speed it answers at
        assert client.infer_many([[1, 2, 3, 4]])[0].x == (1, 2, 3, 4)


def test_the_virtual_micropython_board_speaks_version_2(tmp_path):
    files = prepare_micropython_files(lesson_model(), "q7", tmp_path / "files")
    with start_virtual_micropython(files, tmp_path / "fs") as board, \
            BoardClient.open(board.port) as client:
        _verify_fast(client, 100, 100)
