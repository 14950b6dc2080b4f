"""What the HTML report draws, gathered batch by batch during a verification.

The summary metrics (``metrics.py``) say *how large* the error is; a person
judging a board also wants to see *where* it lives: which outputs, which
samples, when the link misbehaved. ``Evidence`` keeps exactly what the
pictures need and no more, in bounded memory however long the run:

* per output, a histogram of ``board - float`` in LSB (sparse bins of
  ``HISTOGRAM_BIN_LSB``; a bin is stored only once a sample falls into it);
* a timeline: one point per compared batch (sample index, seconds, phase,
  worst and mean |error| in LSB, mismatches, and the link counters at that
  moment), halved by merging neighbours whenever it reaches ``MAX_POINTS``;
* the ``WORST_KEPT`` samples with the largest |error|, with their raw counts,
  input vector and both outputs, to be drawn as small 2x2 images.

Pure: arrays in, a JSON-able dict out (``to_dict``); nothing here reads a port.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compare import Checked

HISTOGRAM_BIN_LSB = 0.125  # bin width of the error histograms, in output LSB
MAX_POINTS = 512  # timeline points kept; neighbours merge pairwise beyond this
WORST_KEPT = 8  # samples with the largest |error| kept for the report

# Link counters plotted over time (cumulative, as LinkStats counts them).
LINK_SERIES = ("bad_crc", "bad_frame", "too_long", "seq_gaps", "duplicates", "resets",
               "retries", "board_errors", "protocol_errors")


@dataclass
class TimelinePoint:
    """One compared batch (or, after merging, several neighbouring ones)."""

    end: int  # samples compared up to and including this point
    seconds: float
    phase: int
    n: int
    max_abs_lsb: float
    sum_abs_lsb: float
    mismatches: int
    link: dict[str, int]

    def merged_with(self, later: TimelinePoint) -> TimelinePoint:
        return TimelinePoint(
            end=later.end,
            seconds=later.seconds,
            phase=later.phase,
            n=self.n + later.n,
            max_abs_lsb=max(self.max_abs_lsb, later.max_abs_lsb),
            sum_abs_lsb=self.sum_abs_lsb + later.sum_abs_lsb,
            mismatches=self.mismatches + later.mismatches,
            link=later.link,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "end": self.end,
            "seconds": round(self.seconds, 4),
            "phase": self.phase,
            "n": self.n,
            "max_abs_lsb": self.max_abs_lsb,
            "mean_abs_lsb": self.sum_abs_lsb / self.n if self.n else 0.0,
            "mismatches": self.mismatches,
            "link": self.link,
        }


def merge_pairs(points: list[TimelinePoint]) -> list[TimelinePoint]:
    """Halve a timeline: each even point absorbs the one after it.

    Phase boundaries are drawn from the report's phase sample counts, not from
    these points, so a merged point may straddle one.
    """
    pairs = zip(points[0::2], points[1::2], strict=False)
    merged = [first.merged_with(second) for first, second in pairs]
    if len(points) % 2:
        merged.append(points[-1])
    return merged


@dataclass
class Evidence:
    """Accumulates the report's pictures; see the module docstring."""

    output_names: tuple[str, ...]
    lsb: float
    samples: int = 0
    histograms: list[dict[int, int]] = field(default_factory=list)
    timeline: list[TimelinePoint] = field(default_factory=list)
    _worst: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.histograms = [{} for _ in self.output_names]

    def add(
        self,
        checked: Checked,
        truth: np.ndarray,
        phase: int,
        seconds: float,
        link: dict[str, int],
        input_scale: float,
    ) -> None:
        """One compared batch; ``truth`` holds the true class or -1, ``link`` the counters now."""
        n = len(checked.board)
        if n == 0:
            return
        error_lsb = (checked.board_real - checked.float_out) / self.lsb
        self._add_histograms(error_lsb)
        worst_per_sample = np.abs(error_lsb).max(axis=1)
        self._keep_worst(checked, truth, phase, worst_per_sample, input_scale)
        self.samples += n
        self.timeline.append(TimelinePoint(
            end=self.samples,
            seconds=seconds,
            phase=phase,
            n=n,
            max_abs_lsb=float(worst_per_sample.max()),
            sum_abs_lsb=float(np.abs(error_lsb).mean(axis=1).sum()),
            mismatches=int(np.count_nonzero(~checked.exact)),
            link={key: int(link.get(key, 0)) for key in LINK_SERIES},
        ))
        if len(self.timeline) >= MAX_POINTS:
            self.timeline = merge_pairs(self.timeline)

    def _add_histograms(self, error_lsb: np.ndarray) -> None:
        bins = np.floor(error_lsb / HISTOGRAM_BIN_LSB).astype(np.int64)
        for j, histogram in enumerate(self.histograms):
            values, counts = np.unique(bins[:, j], return_counts=True)
            for value, count in zip(values.tolist(), counts.tolist(), strict=True):
                histogram[value] = histogram.get(value, 0) + count

    def _keep_worst(
        self,
        checked: Checked,
        truth: np.ndarray,
        phase: int,
        worst_per_sample: np.ndarray,
        input_scale: float,
    ) -> None:
        candidates = np.argsort(worst_per_sample)[::-1][:WORST_KEPT]
        b = checked.board
        for i in candidates.tolist():
            key = (float(worst_per_sample[i]), -(self.samples + i))
            if len(self._worst) == WORST_KEPT and key <= self._worst[0][:2]:
                break  # sorted descending: nothing later in this batch can enter
            record = {
                "index": self.samples + i,
                "phase": phase,
                "max_abs_lsb": key[0],
                "adc": b.adc[i].tolist(),
                "x": [v * input_scale for v in b.x[i].tolist()],
                "board": checked.board_real[i].tolist(),
                "float": checked.float_out[i].tolist(),
                "board_class": int(b.cls[i]),
                "float_class": int(checked.float_cls[i]),
                "truth": int(truth[i]),
                "exact": bool(checked.exact[i]),
            }
            entry = (key[0], key[1], record)
            if len(self._worst) < WORST_KEPT:
                heapq.heappush(self._worst, entry)
            else:
                heapq.heapreplace(self._worst, entry)

    def to_dict(self) -> dict[str, Any]:
        """The ``evidence`` part of the JSON report."""
        return {
            "histogram_bin_lsb": HISTOGRAM_BIN_LSB,
            "histograms": {
                name: sorted(histogram.items())
                for name, histogram in zip(self.output_names, self.histograms, strict=True)
            },
            "timeline": [p.to_dict() for p in self.timeline],
            "worst_samples": [
                record for _, _, record in sorted(self._worst, key=lambda e: (-e[0], -e[1]))
            ],
        }
