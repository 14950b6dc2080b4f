"""The issue's cycle and byte targets on the ATmega328P (simavr cycles and avr-size bytes
are deterministic, so they are asserted, not just reported)."""

from __future__ import annotations

import pytest

from pixelnet.bench.bench_codegen import TARGETS, measure_avr
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.train import train_default


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_default_network_meets_the_cycle_and_byte_targets(tmp_path, fmt: str) -> None:
    got = measure_avr(train_default(), fmt, tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS[f"{fmt}_cycles"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_lesson_network_meets_the_cycle_target(tmp_path) -> None:
    got = measure_avr(lesson_model(), "q7", tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS["lesson_cycles"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
