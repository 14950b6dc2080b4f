"""Squash and rectify: each activation with its local derivative.

The lesson's chain rule needs, for every step, "how much does the output move
when the input moves a little". Each derivative here is written in terms of the
activation's *output* ``y`` where that is cheaper (tanh, logistic), else of its
input ``z`` — both are passed so every function has the same signature.

Every function writes into an ``out`` array the caller owns: a training loop
hands in the same buffers for every batch, so a batch allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _tanh(z: Array, out: Array) -> Array:
    return np.tanh(z, out=out)


def _tanh_grad(z: Array, y: Array, out: Array) -> Array:
    np.multiply(y, y, out=out)
    return np.subtract(1.0, out, out=out)


def _logistic(z: Array, out: Array) -> Array:
    # Split by sign so exp never overflows for large |z|.
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _logistic_grad(z: Array, y: Array, out: Array) -> Array:
    np.subtract(1.0, y, out=out)
    return np.multiply(y, out, out=out)


def _relu(z: Array, out: Array) -> Array:
    return np.maximum(z, 0.0, out=out)


def _relu_grad(z: Array, y: Array, out: Array) -> Array:
    return np.greater(z, 0.0, out=out)


def _identity(z: Array, out: Array) -> Array:
    return z  # nothing to compute: the weighted sum is the output


# name -> (activation, derivative); the identity's derivative is None: it is 1, and
# backpropagation skips multiplying by it.
ACTIVATIONS: dict[str, tuple[Callable[[Array, Array], Array],
                             Callable[[Array, Array, Array], Array] | None]] = {
    "tanh": (_tanh, _tanh_grad),
    "logistic": (_logistic, _logistic_grad),
    "relu": (_relu, _relu_grad),
    "identity": (_identity, None),
}


def activate(name: str, z: Array) -> Array:
    """Apply activation ``name`` (one of ACTIVATIONS) elementwise, into a new array."""
    return ACTIVATIONS[name][0](z, np.empty_like(z, dtype=np.float64))

