"""The CSV log of every compared sample, valid at every moment.

Rows are written whole and the file is flushed after every batch, so what is
on disk after a crash, Ctrl-C, SIGTERM or a pulled cable is a valid CSV of
every sample compared so far.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO

import numpy as np

from pixelnet.files import open_for_streaming

from .compare import STAGES, Checked


class SampleLog:
    """One row per compared sample: what the board said and what it should have said."""

    def __init__(self, path: str | os.PathLike[str], class_names: tuple[str, ...]) -> None:
        self.path = Path(path)
        n_out = len(class_names)
        self._fh: IO[str] = open_for_streaming(self.path, what="sample log")
        self._writer = csv.writer(self._fh)
        outs = range(n_out)
        self._writer.writerow(
            ["n", "t", "source", "seq", "truth", "adc0", "adc1", "adc2", "adc3",
             "x0", "x1", "x2", "x3", *(f"out{j}" for j in outs), "cls",
             *(f"emu_out{j}" for j in outs), "emu_cls",
             *(f"float_out{j}" for j in outs), "float_cls", "exact", "stage"]
        )
        self._fh.flush()
        self._class_names = class_names
        self.rows = 0

    def write(
        self, checked: Checked, t: float, source: str, seqs: list[int | None], truth: np.ndarray
    ) -> None:
        b = checked.board
        for i in range(len(b)):
            label = self._class_names[truth[i]] if truth[i] >= 0 else ""
            self._writer.writerow(
                [self.rows, f"{t:.3f}", source, "" if seqs[i] is None else seqs[i], label,
                 *b.adc[i].tolist(), *b.x[i].tolist(), *b.out[i].tolist(), int(b.cls[i]),
                 *checked.expected_out[i].tolist(), int(checked.expected_cls[i]),
                 *(f"{v:.6g}" for v in checked.float_out[i]), int(checked.float_cls[i]),
                 int(checked.stage[i] == 0), STAGES[checked.stage[i]]]
            )
            self.rows += 1
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
