"""Squash and rectify: each activation with its local derivative.

The lesson's chain rule needs, for every step, "how much does the output move
when the input moves a little". Each derivative here is written in terms of the
activation's *output* ``y`` (``1 - y^2`` for tanh): the backward pass then needs no
weighted sums, and the slopes of several layers with the same activation can be
computed in one call over all of their outputs (see ``network.Workspace``).

Every function writes into an ``out`` array the caller owns: a training loop
hands in the same buffers for every batch, so a batch allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _tanh_slope(y: Array, ones: Array, out: Array) -> Array:
    np.multiply(y, y, out=out)
    return np.subtract(ones, out, out=out)  # 1 - y^2


def _logistic(z: Array, out: Array) -> Array:
    # Split by sign so exp never overflows for large |z|.
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _logistic_slope(y: Array, ones: Array, out: Array) -> Array:
    np.subtract(ones, y, out=out)
    return np.multiply(out, y, out=out)  # (1 - y) y


def _relu(z: Array, out: Array) -> Array:
    return np.maximum(z, 0.0, out=out)


def _relu_slope(y: Array, ones: Array, out: Array) -> Array:
    # y = max(z, 0) is > 0 exactly where z > 0 and 0 elsewhere, so its sign is the step:
    # a float-to-float ufunc, cheaper than a comparison cast to floats.
    return np.sign(y, out=out)


def _identity(z: Array, out: Array) -> Array:
    return z  # nothing to compute: the weighted sum is the output


# name -> (activation, slope): ``slope(y, ones, out)`` writes activation'(z) into ``out``,
# from the activation's output ``y`` (``ones`` is an array of ones shaped like ``y``: an
# array operand costs NumPy less than the scalar 1). The identity's slope is None: its
# derivative is 1, nothing to multiply by.
ACTIVATIONS: dict[str, tuple[Callable[[Array, Array], Array],
                             Callable[[Array, Array, Array], Array] | None]] = {
    "tanh": (np.tanh, _tanh_slope),  # the ufunc itself: ``np.tanh(z, out)``, no wrapper call
    "logistic": (_logistic, _logistic_slope),
    "relu": (_relu, _relu_slope),
    "identity": (_identity, None),
}


def activate(name: str, z: Array) -> Array:
    """Apply activation ``name`` (one of ACTIVATIONS) elementwise, into a new array."""
    return ACTIVATIONS[name][0](z, np.empty_like(z, dtype=np.float64))

