"""The issue's cycle and byte targets on the ATmega328P. simavr cycles and avr-size bytes
are deterministic, so they are asserted here, not only reported by the benchmark.

The default build (`--optimize size`, what `pixelnet build` and the firmware use) of q7
meets every target at once, as does the lesson's ternary network. For q15 speed and size
still pull apart: the default build is held to the byte targets, `--optimize speed`
(weights in the code) to the cycle target.
"""

from __future__ import annotations

import pytest

from pixelnet.bench import bench_codegen
from pixelnet.bench.bench_codegen import TARGETS, cycle_floor, measure_avr
from pixelnet.codegen.quantize import quantize
from pixelnet.firmware.virtual import BatchResult
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.train import train_default


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_default_network_meets_the_cycle_target_optimized_for_speed(tmp_path, fmt: str) -> None:
    model = train_default()
    got = measure_avr(model, fmt, tmp_path, n=50, optimize="speed")
    assert got["cycles_max"] <= TARGETS[f"{fmt}_cycles"], got
    assert cycle_floor(quantize(model, fmt)) <= got["cycles_mean"] <= got["cycles_max"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_default_network_meets_the_byte_targets_optimized_for_size(tmp_path, fmt: str) -> None:
    got = measure_avr(train_default(), fmt, tmp_path, n=50)
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_lesson_network_meets_every_target(tmp_path) -> None:
    got = measure_avr(lesson_model(), "q7", tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS["lesson_cycles"], got
    assert cycle_floor(quantize(lesson_model(), "q7")) <= got["cycles_mean"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_default_build_of_the_default_network_in_q7_meets_every_target(tmp_path) -> None:
    got = measure_avr(train_default(), "q7", tmp_path, n=50)
    assert got["cycles_max"] <= TARGETS["q7_cycles"], got
    assert got["flash_bytes"] <= TARGETS["flash_bytes"], got
    assert got["ram_bytes"] <= TARGETS["ram_bytes"], got


def test_the_floor_counts_the_networks_work():
    qm = quantize(lesson_model(), "q7")
    weights = sum(layer.weights.size for layer in qm.layers)
    assert 0 < cycle_floor(qm) <= weights + sum(layer.weights.shape[1] for layer in qm.layers)
    assert cycle_floor(quantize(train_default(), "q7")) > cycle_floor(qm)


def test_the_worst_case_is_the_slowest_region_and_the_mean_the_mean(monkeypatch, tmp_path):
    regions = [300, 420, 350, 310]
    monkeypatch.setattr(bench_codegen, "run_elf_batch",
                        lambda *a, **k: BatchResult(b"", regions, 40, 10_000))
    monkeypatch.setattr(bench_codegen, "avr_size", lambda elf: (1000, 50))
    got = bench_codegen._measure(tmp_path / "m.elf", tmp_path / "b.elf", 4, 127, 1, tmp_path)
    assert got["cycles_max"] == 420 and got["cycles_mean"] == 345.0
