"""Benchmark of the Uno firmware: size, stack, cycles per inference, streamed samples per second.

Sizes come from avr-size, stack and cycles from the virtual Uno (simavr), all
deterministic. Stream rates are measured in *simulated* time (simavr cycles /
16 MHz) over a window of streamed samples, so the unthrottled simulator's
speed does not matter. Two limits bound the stream: the line (11,520 B/s at
115200 baud, 10 bits per byte, divided by the SAMPLE frame's wire size) and
the ADC (four conversions of 13 ADC clocks at 16 MHz / 128 per sample).
simavr 1.6's UART always counts a parity bit (11 bit times per byte) at the
117,647 baud that UBRR 16 with U2X gives, and rounds to whole microseconds:
93 us per byte, 10,753 B/s. So the simulated line is ~7% slower than the
nominal one, and the report gives the rate against both.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from pixelnet.firmware.build import build_uno
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.host.client import BoardClient
from pixelnet.host.frames import encode_frame
from pixelnet.host.messages import Msg, sample_size
from pixelnet.trainer.lesson import lesson_model

F_CPU = 16_000_000
BAUD = 115_200
BITS_PER_BYTE = 10  # start, 8 data, stop
UBRR_115200 = 16  # with U2X, as the Arduino core and pn_bare.c set it
SIMAVR_BITS_PER_BYTE = 11  # start, 8 data, parity (counted even when off), stop
ADC_CLOCKS_PER_CONVERSION = 13
ADC_PRESCALER = 128  # the Arduino core's setting at 16 MHz
N_PIXELS = 4
TARGET_FRACTION = 0.9
FLASH_TARGET = 12 * 1024  # a third of the Uno's 32,256 B; the rest is the user's
RAM_TARGET = 1024


def sample_frame_bytes(n_in: int = 4, n_out: int = 4) -> int:
    """Wire size of one SAMPLE frame (COBS adds one byte below 254, plus the delimiter)."""
    return len(encode_frame(Msg.SAMPLE, 1, b"\x01" * sample_size(n_in, n_out)))


def line_limit(frame_bytes: int, baud: int = BAUD) -> float:
    """Frames per second the serial line can carry."""
    return baud / BITS_PER_BYTE / frame_bytes


def simavr_line_limit(frame_bytes: int) -> float:
    """Frames per simulated second through simavr's UART (see the module docstring)."""
    baud = F_CPU // (UBRR_115200 + 1) // 8
    usec_per_byte = 1_000_000 // (baud // SIMAVR_BITS_PER_BYTE)
    return 1_000_000 / usec_per_byte / frame_bytes


def adc_limit(averaging: int = 1) -> float:
    """Samples per second the ADC can deliver (conversions only)."""
    conversion_s = ADC_CLOCKS_PER_CONVERSION * ADC_PRESCALER / F_CPU
    return 1.0 / (N_PIXELS * averaging * conversion_s)


def _simulated_seconds(board) -> float:
    return board.cycle_stats().cycles / F_CPU


def measure_stream(board, client: BoardClient, rate: int, n: int) -> float:
    """Samples per simulated second, counted between two cycle readings after a warm-up."""
    client.stream(rate)
    samples = client.samples(None)
    for _ in range(10):
        next(samples)
    start = _simulated_seconds(board)
    for _ in range(n):
        next(samples)
    elapsed = _simulated_seconds(board) - start
    client.stream(0)
    return n / elapsed


def measure_inference_cycles(board, client: BoardClient, n: int) -> list[int]:
    """Cycles of the GPIOR0-marked inference, one random input vector at a time."""
    rng = np.random.default_rng(0)
    cycles = []
    for x in rng.integers(-127, 128, size=(n, N_PIXELS)).tolist():
        client.infer(x)
        cycles.append(board.cycle_stats().last)
    return cycles


def _exercise_everything(client: BoardClient) -> None:
    """Every command once, so the stack peak covers the deepest path."""
    client.trace([127, -127, 127, -127])
    client.set_averaging(64)
    client.sample()
    client.set_averaging(1)
    client.infer_raw([0, 1023, 512, 7])
    client.info()


def run(quick: bool = False, build_dir: Path | None = None) -> dict:
    """Build the default model for the Uno, run it on the virtual Uno, return the numbers."""
    n_stream, n_infer = (200, 50) if quick else (1500, 300)
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-") as tmp:
        work = Path(build_dir) if build_dir is not None else Path(tmp)
        build = build_uno(lesson_model(), "q7", work / "uno")
        bare = build_uno(lesson_model(), "q7", work / "uno", core=False)
        with start_virtual_board(
            "uno", firmware=build.elf, state_dir=Path(tmp) / "state", build_dir=work
        ) as board, BoardClient.open(board.port) as client:
            client.info()
            cycles = measure_inference_cycles(board, client, n_infer)
            flat_out = measure_stream(board, client, 0xFFFF, n_stream)
            paced = measure_stream(board, client, 100, max(50, n_stream // 10))
            _exercise_everything(client)
            stack = board.cycle_stats().stack_peak
    frame = sample_frame_bytes()
    limits = {"line": line_limit(frame), "adc": adc_limit()}
    tighter = min(limits.values())
    return {
        "model": "lesson (4-4-4-8-4), q7",
        "flash_bytes": build.flash_bytes,
        "static_ram_bytes": build.ram_bytes,
        "flash_bytes_without_core": bare.flash_bytes,
        "static_ram_bytes_without_core": bare.ram_bytes,
        "peak_stack_bytes": stack,
        "ram_with_stack_bytes": build.ram_bytes + stack,
        "cycles_per_inference": {"min": min(cycles), "max": max(cycles),
                                 "mean": float(np.mean(cycles))},
        "us_per_inference_mean": float(np.mean(cycles)) / F_CPU * 1e6,
        "sample_frame_bytes": frame,
        "stream_samples_per_s_simulated": flat_out,
        "stream_at_100_per_s_simulated": paced,
        "limits_samples_per_s": limits,
        "fraction_of_tighter_limit": flat_out / tighter,
        "simavr_line_limit_samples_per_s": simavr_line_limit(frame),
        "fraction_of_simavr_line": flat_out / simavr_line_limit(frame),
        "targets_met": {
            "stream_90_percent": flat_out >= TARGET_FRACTION * tighter,
            "flash_12k": build.flash_bytes <= FLASH_TARGET,
            "ram_1k_with_stack": build.ram_bytes + stack <= RAM_TARGET,
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
