"""The guided calibration's arithmetic: readings -> one dark/bright pair, checked before it is sent.

A guided calibration is one transaction: the host reads the sensor covered and
lit (SAMPLE, the counts the board itself would measure), checks the pair, and
only then sends both at once (CALIBRATE set). A failed step sends nothing, so
the board keeps exactly the calibration it had, in RAM and in its store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixelnet.codegen.emulator import MIN_SPAN, average_counts
from pixelnet.errors import PixelnetError

PIXELS = ("TL", "TR", "BL", "BR")


def mean_counts(readings: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """Per pixel, the mean of the readings rounded as a board averages (``average_counts``)."""
    return tuple(int(v) for v in average_counts(np.asarray(readings)))


def check_pair(dark: Sequence[int], bright: Sequence[int]) -> None:
    """PixelnetError naming the first pixel whose bright does not exceed dark by MIN_SPAN."""
    for name, d, b in zip(PIXELS, dark, bright, strict=True):
        if b - d < MIN_SPAN:
            raise PixelnetError(
                f"pixel {name}: bright {b} does not exceed dark {d} by {MIN_SPAN} counts; "
                "more light, or check the wiring (the stored calibration is unchanged)"
            )
