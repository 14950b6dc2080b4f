"""Error metrics of a board against its references, accumulated batch by batch.

Two comparisons per sample, as embedded-ML engineers report them:

* **bit exactness** — the board's integers against the integer emulator run on
  exactly what the board used; any difference is a bug, counted and listed;
* **quantisation error** — the board's outputs (as the real numbers they stand
  for) against the float model on the same input: ``e = board - float``.

Everything is kept as running sums, so a stream of any length costs constant
memory and the numbers are the same whether the samples came in one batch or
many (up to float rounding of the sums).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ErrorSums:
    """Running sums of one set of error columns (one output, or all outputs)."""

    n: int = 0
    sum_e: float = 0.0
    sum_e2: float = 0.0
    sum_abs: float = 0.0
    max_abs: float = 0.0
    sum_ref2: float = 0.0
    sum_got2: float = 0.0
    sum_ref_got: float = 0.0

    def add(self, got: np.ndarray, ref: np.ndarray) -> None:
        e = got - ref
        self.n += e.size
        self.sum_e += float(e.sum())
        self.sum_e2 += float((e * e).sum())
        self.sum_abs += float(np.abs(e).sum())
        if e.size:
            self.max_abs = max(self.max_abs, float(np.abs(e).max()))
        self.sum_ref2 += float((ref * ref).sum())
        self.sum_got2 += float((got * got).sum())
        self.sum_ref_got += float((ref * got).sum())

    def summary(self, lsb: float) -> dict[str, float | None]:
        """max |e| (also in LSB), MAE, RMSE, mean (bias), std, L2 ratio, cosine."""
        if self.n == 0:
            return {k: None for k in SUMMARY_KEYS}
        mean = self.sum_e / self.n
        ref_norm = math.sqrt(self.sum_ref2)
        norms = math.sqrt(self.sum_ref2 * self.sum_got2)
        return {
            "max_abs": self.max_abs,
            "max_abs_lsb": self.max_abs / lsb,
            "mae": self.sum_abs / self.n,
            "rmse": math.sqrt(self.sum_e2 / self.n),
            "mean": mean,
            "std": math.sqrt(max(0.0, self.sum_e2 / self.n - mean * mean)),
            "l2_ratio": math.sqrt(self.sum_e2) / ref_norm if ref_norm else None,
            "cosine": self.sum_ref_got / norms if norms else None,
        }


SUMMARY_KEYS = ("max_abs", "max_abs_lsb", "mae", "rmse", "mean", "std", "l2_ratio", "cosine")


@dataclass
class Metrics:
    """Everything ``pixelnet verify`` reports about the numbers (not the link)."""

    n_out: int
    n_classes: int
    samples: int = 0
    mismatches: int = 0  # samples where any board integer differs from the emulator
    argmax_agree: int = 0  # board class == float model class
    overall: ErrorSums = field(default_factory=ErrorSums)
    per_output: list[ErrorSums] = field(default_factory=list)
    labelled: int = 0
    confusion: np.ndarray = field(default=None)  # type: ignore[assignment]  # [truth, board]

    def __post_init__(self) -> None:
        self.per_output = [ErrorSums() for _ in range(self.n_out)]
        self.confusion = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)

    def add(
        self,
        exact: np.ndarray,
        got: np.ndarray,
        ref: np.ndarray,
        board_cls: np.ndarray,
        float_cls: np.ndarray,
        truth: np.ndarray,
    ) -> None:
        """One batch: ``exact`` [N] bools, ``got``/``ref`` [N, n_out] floats, classes [N].

        ``truth`` holds the true class or -1 where it is not known.
        """
        self.samples += len(exact)
        self.mismatches += int(np.count_nonzero(~exact))
        self.argmax_agree += int(np.count_nonzero(board_cls == float_cls))
        self.overall.add(got, ref)
        for j, sums in enumerate(self.per_output):
            sums.add(got[:, j], ref[:, j])
        known = truth >= 0
        self.labelled += int(np.count_nonzero(known))
        np.add.at(self.confusion, (truth[known], board_cls[known]), 1)

    @property
    def accuracy(self) -> float | None:
        if not self.labelled:
            return None
        return float(np.trace(self.confusion)) / self.labelled

    def to_dict(self, lsb: float, output_names: tuple[str, ...]) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "bit_exact_mismatches": self.mismatches,
            "argmax_agreement": self.argmax_agree / self.samples if self.samples else None,
            "lsb": lsb,
            "error": self.overall.summary(lsb),
            "error_per_output": {
                name: sums.summary(lsb)
                for name, sums in zip(output_names, self.per_output, strict=True)
            },
            "labelled_samples": self.labelled,
            "accuracy": self.accuracy,
            "confusion": self.confusion.tolist(),
        }
