"""Protocol version 2 end to end on the virtual boards: the real firmware, the real host.

The virtual Uno runs the very ELF that would be flashed, and simavr times its
UART from UBRR: after BAUD the board really sends at 1,000,000 baud in
simulated time. The virtual MicroPython board acknowledges BAUD and keeps its
pty as it is (it has no UART to change).

The live rate goal is held in simulated cycles, which are deterministic: the
harness's batch mode feeds the same commands to the same ELF and stops it at a
given cycle, so two runs that differ only in where they stop count the samples
sent in between.
"""

from __future__ import annotations

import struct

import pytest

from pixelnet.bench.bench_firmware import adc_limit
from pixelnet.bench.rows import STREAM_FRACTION_TARGET
from pixelnet.firmware.build import build_uno
from pixelnet.firmware.virtual import run_elf_batch, start_virtual_board
from pixelnet.firmware.virtual_micropython import (
    prepare_micropython_files,
    start_virtual_micropython,
)
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference, SampleArrays, check_batch
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import Cmd, Msg, unpack_compact_sample, unpack_info
from pixelnet.host.vectors import random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model

pytestmark = pytest.mark.slow

FAST = 1_000_000
F_CPU = 16_000_000
WARM_UP_CYCLES = 4_000_000  # boot, BAUD, STREAM and the first samples: 0.25 s
WINDOW_CYCLES = 8_000_000  # half a simulated second of flat-out stream


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


def _stream_flat_out(elf, cycles: int, build_dir) -> tuple[int, list]:
    """The firmware in batch mode, told BAUD 1,000,000 and STREAM flat out in compact frames
    and stopped after ``cycles``: the cycle it stopped at, and every frame it sent."""
    commands = (encode_frame(Cmd.BAUD, 1, struct.pack("<I", FAST))
                + encode_frame(Cmd.STREAM, 2, struct.pack("<HB", 0xFFFF, 1)))
    run = run_elf_batch(elf, commands, cycles, commands=["scene vertical_left"],
                        build_dir=build_dir, runs_forever=True)
    return run.cycles, FrameDecoder().feed(run.stdout)


@pytest.mark.parametrize("build", ["core", "bare"])
def test_a_megabaud_stream_keeps_up_with_the_adc_in_simulated_time(uno_elfs, build, tmp_path):
    """Live samples per simulated second at 1,000,000 baud: at least 90% of what four ADC
    conversions a sample allow, with the firmware as users flash it (the Arduino core) and
    without the core; every sample bit-exact."""
    start, warm = _stream_flat_out(uno_elfs[build], WARM_UP_CYCLES, tmp_path)
    end, frames = _stream_flat_out(uno_elfs[build], WARM_UP_CYCLES + WINDOW_CYCLES, tmp_path)
    assert [f.type for f in frames[:len(warm)]] == [f.type for f in warm]  # deterministic
    info = unpack_info(next(f.payload for f in frames if f.type == Msg.INFO))
    samples = [unpack_compact_sample(f.payload, info.n_in, info.n_out, info.value_bytes)
               for f in frames if f.type == Msg.SAMPLE_COMPACT]
    in_window = len(samples) - sum(f.type == Msg.SAMPLE_COMPACT for f in warm)
    rate = in_window / ((end - start) / F_CPU)
    assert rate >= STREAM_FRACTION_TARGET * adc_limit(), f"{rate:.0f} samples/s"
    checked = check_batch(Reference.from_model(lesson_model(), "q7"),
                          SampleArrays.from_samples(samples), info.calibration)
    assert checked.exact.all() and len(samples) > 1_000
    seqs = [f.seq for f in frames if f.type == Msg.SAMPLE_COMPACT]
    assert seqs == [n % 256 for n in range(len(seqs))]  # none lost: no gaps
