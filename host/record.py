"""Labelled recordings from the sensor, in the trainer's CSV format (trainer/data.py).

Header ``label,tl,tr,bl,br`` followed by ``seq,adc0..adc3`` (the trainer
ignores extra columns); pixels are the input vector the board computed, as
floats in [-1, 1]. Flushed after every row: a recording stopped at any moment
is a valid file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO

from pixelnet.errors import PixelnetError
from pixelnet.files import open_for_streaming
from pixelnet.trainer.patterns import CLASSES, SCENES

from .messages import Sample

HEADER = ("label", "tl", "tr", "bl", "br", "seq", "adc0", "adc1", "adc2", "adc3")


def check_label(label: str) -> str:
    """A class name or a scene name, as the trainer accepts; PixelnetError otherwise."""
    if label not in CLASSES and label not in SCENES:
        raise PixelnetError(
            f"unknown label {label!r}: use a class ({', '.join(CLASSES)}) "
            f"or a scene ({', '.join(SCENES)})"
        )
    return label


class RecordingWriter:
    """Append samples of one label to a new recording file."""

    def __init__(self, path: str | os.PathLike[str], label: str, format_bits: int) -> None:
        self.label = check_label(label)
        self.path = Path(path)
        self._scale = 2.0**-format_bits
        self._fh: IO[str] = open_for_streaming(self.path, what="recording")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(HEADER)
        self._fh.flush()
        self.rows = 0

    def write(self, seq: int, sample: Sample) -> None:
        pixels = (f"{max(-1.0, min(1.0, v * self._scale)):.6f}" for v in sample.x)
        self._writer.writerow([self.label, *pixels, seq, *sample.adc])
        self._fh.flush()
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
