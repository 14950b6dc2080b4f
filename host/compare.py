"""Recompute what a board should have computed, for a batch of its samples at once.

Pure and vectorised: the board's samples become arrays, the integer emulator
runs on exactly the inputs the board reports (its raw counts through its
calibration, and its input vector ``x``), and the float model runs on the real
numbers ``x`` stands for. Nothing here talks to a port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pixelnet.codegen.emulator import classify, dequantize_outputs, infer, preprocess
from pixelnet.codegen.quantize import QuantizedModel, quantize
from pixelnet.trainer.model_file import Model

from .messages import Calibration, Sample

# Where a sample first left the emulator's path; "" when it is bit-exact.
STAGES = ("", "preprocess", "network", "class")


@dataclass(frozen=True)
class Reference:
    """The model file as float network and as the integer network a board runs."""

    model: Model
    qm: QuantizedModel

    @classmethod
    def from_model(cls, model: Model, fmt: str) -> Reference:
        return cls(model, quantize(model, fmt))

    @property
    def lsb(self) -> float:
        """One step of the output format, as a real number."""
        return 2.0 ** -self.qm.layers[-1].out_frac

    @property
    def input_scale(self) -> float:
        return 2.0 ** -self.qm.format_bits


@dataclass(frozen=True)
class SampleArrays:
    adc: np.ndarray  # int64 [N, 4]
    x: np.ndarray  # int64 [N, 4]
    out: np.ndarray  # int64 [N, n_out]
    cls: np.ndarray  # int64 [N]

    @classmethod
    def from_samples(cls, samples: Sequence[Sample]) -> SampleArrays:
        n = len(samples)
        return cls(
            np.array([s.adc for s in samples], dtype=np.int64).reshape(n, -1),
            np.array([s.x for s in samples], dtype=np.int64).reshape(n, -1),
            np.array([s.out for s in samples], dtype=np.int64).reshape(n, -1),
            np.array([s.cls for s in samples], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.cls)


@dataclass(frozen=True)
class Checked:
    """The references for one batch, and where each sample diverged (``stage``)."""

    board: SampleArrays
    expected_x: np.ndarray  # what preprocessing should give (= board x for injected inputs)
    expected_out: np.ndarray
    expected_cls: np.ndarray
    board_real: np.ndarray  # the board's outputs as real numbers
    float_out: np.ndarray  # the float model on the board's input
    float_cls: np.ndarray
    stage: np.ndarray  # index into STAGES per sample

    @property
    def exact(self) -> np.ndarray:
        return self.stage == 0


def check_batch(
    ref: Reference,
    board: SampleArrays,
    calibration: Calibration | None = None,
    sent_x: np.ndarray | None = None,
) -> Checked:
    """Compare a batch read from the sensor (give its ``calibration``) or injected (``sent_x``)."""
    if sent_x is not None:
        expected_x = np.asarray(sent_x, dtype=np.int64)
        adc_ok = np.all(board.adc == 0, axis=1)  # an INFER result reports no counts
    elif calibration is not None:
        expected_x = preprocess(ref.qm, board.adc, calibration.dark, calibration.bright)
        adc_ok = np.ones(len(board), dtype=bool)  # the counts are checked through their x
    else:
        raise ValueError("a sensor sample needs the calibration, an injected one the sent input")
    x_ok = np.all(board.x == expected_x, axis=1) & adc_ok
    expected_out = infer(ref.qm, _clip_to_format(ref, board.x))
    out_ok = np.all(board.out == expected_out, axis=1)
    expected_cls = classify(board.out)
    cls_ok = board.cls == expected_cls
    stage = np.where(~x_ok, 1, np.where(~out_ok, 2, np.where(~cls_ok, 3, 0)))
    float_out = ref.model.forward(board.x * ref.input_scale)
    return Checked(
        board=board,
        expected_x=expected_x,
        expected_out=expected_out,
        expected_cls=classify(expected_out),
        board_real=dequantize_outputs(ref.qm, board.out),
        float_out=float_out,
        float_cls=classify(float_out),
        stage=stage,
    )


def _clip_to_format(ref: Reference, x: np.ndarray) -> np.ndarray:
    """A board reporting an input outside its format is already a mismatch; keep going."""
    limit = ref.qm.format.act_max
    return np.clip(x, -limit, limit)


def first_diverging_layer(expected: Sequence[np.ndarray], board: Sequence[Sequence[int]]) -> int:
    """Index of the first layer whose activations differ; -1 if all agree."""
    for i, (want, got) in enumerate(zip(expected, board, strict=False)):
        if list(np.asarray(want).ravel()) != list(got):
            return i
    return -1 if len(expected) == len(board) else min(len(expected), len(board))
