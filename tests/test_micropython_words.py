"""The generated MicroPython stays within a 32-bit board's small ints where it can.

No 32-bit MicroPython runs in the suite, so the words are bounded by analysis: the
calibration's split multiply is checked against the emulator's direct formula
exhaustively for every span and count of a 10-bit ADC, and for every uint16 span at
the counts where its intermediates peak (0, 1, half, span - 1, span; they grow with
the count), and every one of its intermediates is bounded below 2**30 (MicroPython's
small-int limit on 32-bit boards). The generated module itself is checked bit for bit
against the emulator on the unix port (tests/test_codegen_micropython.py).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_codegen_c import random_model

from pixelnet.codegen import quantize
from pixelnet.codegen.emulator import (
    COUNT_MAX,
    calib_multipliers,
    calib_shift,
    split_calibration,
)
from pixelnet.codegen.quantize import tanh_table
from pixelnet.codegen.render import render
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.train import train_default

SMALL_INT = 1 << 30


ADC_10_BIT_MAX = 1023


def _multipliers(spans: np.ndarray) -> np.ndarray:
    """One multiplier per span (dark 0, bright = span), four pixels at a time."""
    padded = np.concatenate([spans, np.ones(-len(spans) % 4, dtype=spans.dtype)])
    return np.concatenate([calib_multipliers(np.zeros(4, int), four)
                           for four in padded.reshape(-1, 4)])[:len(spans)]


def _check_split(v: np.ndarray, mul: np.ndarray, fmt: str) -> None:
    k = calib_shift(fmt)
    got, intermediates = split_calibration(v, mul, k)
    np.testing.assert_array_equal(got, (v * mul + (1 << (k - 1))) >> k)
    assert max(int(np.max(np.abs(t))) for t in intermediates) < SMALL_INT


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_split_calibration_is_exact_and_small_for_every_10_bit_span_and_count(fmt) -> None:
    span = np.arange(1, ADC_10_BIT_MAX + 1)
    mul = np.repeat(_multipliers(span), span + 1)  # every count 0..span of every span
    v = np.arange(len(mul)) - np.repeat(np.cumsum(span + 1) - (span + 1), span + 1)
    _check_split(v, mul, fmt)
    assert int(np.max(v * mul)) >= SMALL_INT  # the direct product would not have been


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_split_calibration_is_exact_and_small_for_every_16_bit_span(fmt) -> None:
    span = np.arange(1, COUNT_MAX + 1)
    mul = _multipliers(span)
    for v in (np.zeros_like(span), np.ones_like(span), span // 2, span - 1, span):
        _check_split(v, mul, fmt)


def layer_peaks(qm) -> list[int]:
    """The largest magnitude of every intermediate of the generated module's layers, by
    interval analysis: each partial sum of ``b + x0 * w0 + ...`` (bounded by the sum of
    magnitudes, inputs at the previous layer's output bounds), the rounding add before a
    right shift, and the table interpolation ``(T[i + 1] - T[i]) * f + half``."""
    f = qm.format
    table = np.asarray(tanh_table(qm.fmt), dtype=np.int64)
    interpolation = int(np.max(np.abs(np.diff(table)))) * ((1 << f.interp_bits) - 1) + (
        1 << (f.interp_bits - 1))
    peaks, in_max = [], np.full(qm.n_inputs, f.act_max, dtype=np.int64)
    for layer in qm.layers:
        sums = np.abs(layer.biases) + np.abs(layer.weights).T @ in_max
        peak = int(sums.max()) + (1 << (layer.shift - 1) if layer.shift > 0 else 0)
        peaks.append(max(peak, interpolation, f.position_max))
        in_max = np.maximum(np.abs(layer.out_lo), np.abs(layer.out_hi)).astype(np.int64)
    return peaks


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_every_intermediate_fits_a_32_bit_board(fmt: str) -> None:
    """q7: small ints on a 32-bit board (below 2**30, no long int); q15, 16x8: 32-bit machine
    words (below 2**31), so a viper or C int32 holds every value, while plain MicroPython
    on a 32-bit board may go through long ints for the larger q15 accumulators."""
    rng = np.random.default_rng(5)
    models = [train_default(), lesson_model(), *(random_model(rng) for _ in range(20))]
    limit = SMALL_INT if fmt == "q7" else 1 << 31
    for model in models:
        qm = quantize(model, fmt)
        assert max(layer_peaks(qm)) < limit, (model.short_hash, layer_peaks(qm))


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_viper_code_has_no_literal_a_32_bit_board_cannot_compile(fmt: str) -> None:
    """viper refuses integer literals of 2**30 and more on a 32-bit port: the import fails."""
    rng = np.random.default_rng(6)
    for model in [train_default(), lesson_model(), *(random_model(rng) for _ in range(10))]:
        text = render(quantize(model, fmt), "micropython", optimize="viper")["pixelnet_model.py"]
        viper_code = "\n".join(block.split("\n\n\n")[0]
                               for block in text.split("@micropython.viper")[1:])
        assert viper_code
        assert max(int(n) for n in re.findall(r"\b\d+\b", viper_code)) < SMALL_INT
