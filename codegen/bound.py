"""A proven bound on |integer output - float output| over the whole input box [-1, 1]^4.

Interval arithmetic through both networks at once, per unit, in exact-arithmetic terms
(a relative margin of 1e-9 covers the float64 rounding of the bound itself). For a layer
``y = f(z)``, ``z = x @ W + b`` in the float model and ``y_q = act_q(z_q)``,
``z_q = x_q @ W_q + b_q`` in the integers (dequantised: exact):

- the float inputs lie in ``[lo, hi]``, the integer inputs satisfy ``|x_q| <= m`` and
  ``|x_q - x| <= e`` (the first layer: ``e`` = one input LSB, the rounding and the
  saturation of +1 to 127/128);
- ``|z_q - z| <= |W_q - W|^T m + |W|^T e + |b_q - b| = d``;
- ``|y_q - y| <= |act_q(z_q) - f(z_q)| + |f(z_q) - f(z)| <= a + L * d``, where ``a`` is the
  activation's error, found exhaustively over every accumulator the layer can reach
  (``activation_error``), and ``L`` is the largest slope of ``f`` on ``[zlo - d, zhi + d]``;
- and never more than the two output intervals allow: ``max(yq_hi - y_lo, y_hi - yq_lo)``.

Nothing here is sampled, so the bound holds for every input, including the steep places a
grid steps over; it is loose where a layer amplifies errors that in fact cancel.
"""

from __future__ import annotations

import numpy as np

from pixelnet.trainer.model_file import Model

from . import emulator
from .quantize import DIRECT_MAX, Format, QuantizedModel, QuantLayer

MARGIN = 1e-9  # relative: the float64 rounding of the bound's own arithmetic
CELL_SPLITS = 8  # per pixel: 4,096 cells, each bounded apart


def _float_activation(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if name == "relu":
        return np.maximum(z, 0.0)
    return z


def _largest_slope(name: str, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The largest derivative of the activation on each interval [lo, hi]."""
    nearest = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    if name == "tanh":
        return 1.0 - np.tanh(nearest) ** 2
    if name == "logistic":
        s = _float_activation("logistic", nearest)
        return s * (1.0 - s)
    if name == "relu":
        return np.where(hi > 0, 1.0, 0.0)
    return np.ones_like(lo)


def _table_accumulators(q: QuantLayer, fmt: Format) -> np.ndarray:
    """Magnitudes where a table activation's error peaks: each value that reads a
    different position and the ends of every group that reads the same one (the
    activation is monotone, so a group's worst is at an end)."""
    bound = q.acc_bound
    if q.direct or bound <= DIRECT_MAX:
        return np.arange(min(bound, DIRECT_MAX) + 1, dtype=np.int64)
    if q.shift <= 0:
        last = min(bound, (fmt.position_max >> -q.shift) + 1)
        return np.unique(np.append(np.arange(last + 1, dtype=np.int64), bound))
    half = 1 << (q.shift - 1)
    p = np.arange(fmt.position_max + 1, dtype=np.int64)
    ends = np.concatenate([(p << q.shift) - half, (p << q.shift) + half - 1, [0, bound]])
    return np.unique(np.clip(ends, 0, bound))


def activation_error(q: QuantLayer, fmt: Format) -> float:
    """max |act_q(acc) * 2^-out_frac - f(acc * 2^-acc_frac)| over every reachable acc."""
    if q.activation in ("tanh", "logistic"):
        mag = _table_accumulators(q, fmt)
        acc = np.concatenate([mag, -mag])
    else:
        rounding = 0.5 * 2.0**-q.out_frac if q.shift > 0 else 0.0  # a left shift is exact
        if not q.saturates:
            return rounding
        acc = np.array([-q.acc_bound, q.acc_bound], dtype=np.int64)  # the clamp's worst
        got = emulator.activate(q, acc, fmt.name)
        want = _float_activation(q.activation, acc * 2.0**-q.acc_frac)
        return max(rounding, float(np.max(np.abs(got * 2.0**-q.out_frac - want))))
    got = emulator.activate(q, acc, fmt.name)
    want = _float_activation(q.activation, acc * 2.0**-q.acc_frac)
    return float(np.max(np.abs(got * 2.0**-q.out_frac - want)))


def _interval(w: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Per cell [C, n_in] -> [C, n_out]: the exact interval of x @ w + b over the box."""
    pos, neg = np.maximum(w, 0), np.minimum(w, 0)
    return lo @ pos + hi @ neg + b, hi @ pos + lo @ neg + b


def _cells(n_inputs: int, splits: int) -> tuple[np.ndarray, np.ndarray]:
    """The input box cut into ``splits`` per pixel: (lower corners, upper corners)."""
    edges = np.linspace(-1.0, 1.0, splits + 1)
    index = np.stack(np.meshgrid(*[np.arange(splits)] * n_inputs, indexing="ij"), -1)
    index = index.reshape(-1, n_inputs)
    return edges[index], edges[index + 1]


def error_bound(model: Model, qm: QuantizedModel, splits: int = CELL_SPLITS) -> np.ndarray:
    """Per output: no input in [-1, 1]^4 gives a larger |dequantised integer output - float
    output| (the integer model reading ``quantize_inputs`` of the same input).

    The box is cut into ``splits``^4 cells and each is bounded apart (the largest is the
    answer): within a small cell a tanh is either steep or flat, a relu on or off."""
    fmt = qm.format
    lsb_in = 2.0**-fmt.bits
    lo, hi = _cells(qm.n_inputs, splits)
    int_lo, int_hi = emulator.quantize_inputs(qm, lo), emulator.quantize_inputs(qm, hi)
    err = np.full(lo.shape, lsb_in)
    for layer, q in zip(model.layers, qm.layers, strict=True):
        w = layer.weights
        b = layer.biases if layer.biases is not None else np.zeros(layer.n_out)
        w_q = q.weights * 2.0**-q.weight_frac
        b_q = q.biases * 2.0**-q.acc_frac
        mag = np.maximum(np.abs(int_lo), np.abs(int_hi)) * 2.0**-q.in_frac
        z_lo, z_hi = _interval(w, b, lo, hi)
        d = mag @ np.abs(w_q - w) + err @ np.abs(w) + np.abs(b_q - b)
        slope = _largest_slope(layer.activation, z_lo - d, z_hi + d)
        propagated = activation_error(q, fmt) + slope * d
        lo = _float_activation(layer.activation, z_lo)
        hi = _float_activation(layer.activation, z_hi)
        # the integer layer is monotone too: its interval is its value at the ends
        acc_lo, acc_hi = _interval(q.weights.astype(np.float64), q.biases, int_lo, int_hi)
        int_lo = emulator.activate(q, acc_lo.astype(np.int64), qm.fmt)
        int_hi = emulator.activate(q, acc_hi.astype(np.int64), qm.fmt)
        out_lo, out_hi = int_lo * 2.0**-q.out_frac, int_hi * 2.0**-q.out_frac
        err = np.minimum(propagated, np.maximum(out_hi - lo, hi - out_lo)) * (1 + MARGIN)
    return err.max(axis=0)
