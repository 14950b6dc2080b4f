"""The generated MicroPython stays within a 32-bit board's small ints where it can.

No 32-bit MicroPython runs in the suite, so the words are bounded by analysis: the
calibration's split multiply is checked exhaustively, for every span and count the
firmware accepts, against the emulator's direct formula, and every one of its
intermediates is bounded below 2**30 (MicroPython's small-int limit on 32-bit
boards). The generated module itself is checked bit for bit against the emulator
on the unix port (tests/test_codegen_micropython.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from pixelnet.codegen.emulator import (
    ADC_MAX,
    MIN_SPAN,
    calib_multipliers,
    calib_shift,
    split_calibration,
)

SMALL_INT = 1 << 30


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_split_calibration_is_exact_and_small_for_every_span_and_count(fmt: str) -> None:
    span = np.arange(MIN_SPAN, ADC_MAX + 1)  # 1,008 spans: 252 calibrations of 4 pixels
    per_span = np.concatenate([calib_multipliers(np.zeros(4, int), four)
                               for four in span.reshape(-1, 4)])
    mul = np.repeat(per_span, span + 1)  # every count 0..span of every span
    v = np.arange(len(mul)) - np.repeat(np.cumsum(span + 1) - (span + 1), span + 1)
    k = calib_shift(fmt)
    got, intermediates = split_calibration(v, mul, k)
    np.testing.assert_array_equal(got, (v * mul + (1 << (k - 1))) >> k)
    assert max(int(np.max(np.abs(t))) for t in intermediates) < SMALL_INT
    assert int(np.max(v * mul)) >= SMALL_INT  # the direct product would not have been
