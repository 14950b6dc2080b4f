"""The issue's cycle and byte targets on the ATmega328P. simavr cycles and avr-size bytes
are deterministic, so they are asserted here, not only reported by the benchmark.

The default build (`--optimize size`, what `pixelnet build` and the firmware use) of q7
meets every target at once, as does the lesson's ternary network. For q15 speed and size
still pull apart: the default build is held to the byte targets, `--optimize speed`
(weights in the code) to the cycle target.
"""

from __future__ import annotations

import pytest

from pixelnet.bench.bench_codegen import TARGETS, measure_avr
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.train import train_default


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_default_network_meets_the_cycle_target_optimized_for_speed(tmp_path, fmt: str) -> None:
    got = measure_avr(train_default(), fmt, tmp_path, n=50, optimize="speed")
    assert got["cycles_max"] <= TARGETS[f"{fmt}_cycles"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_default_network_meets_the_byte_targets_optimized_for_size(tmp_path, fmt: str) -> None:
    got = measure_avr(train_default(), fmt, tmp_path, n=50)
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_lesson_network_meets_every_target(tmp_path) -> None:
    got = measure_avr(lesson_model(), "q7", tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS["lesson_cycles"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_default_build_of_the_default_network_in_q7_meets_every_target(tmp_path) -> None:
    got = measure_avr(train_default(), "q7", tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS["q7_cycles"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got
