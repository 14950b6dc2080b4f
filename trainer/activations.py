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


def _tanh_chain(z: Array, y: Array, grad: Array, out: Array) -> Array:
    # grad * (1 - y^2) as grad - (grad y) y: three products of same-shaped arrays
    np.multiply(grad, y, out=out)
    out *= y
    return np.subtract(grad, out, out=out)


def _logistic(z: Array, out: Array) -> Array:
    # Split by sign so exp never overflows for large |z|.
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _logistic_chain(z: Array, y: Array, grad: Array, out: Array) -> Array:
    np.subtract(1.0, y, out=out)
    out *= y
    return np.multiply(out, grad, out=out)


def _relu(z: Array, out: Array) -> Array:
    return np.maximum(z, 0.0, out=out)


def _relu_chain(z: Array, y: Array, grad: Array, out: Array) -> Array:
    np.greater(z, 0.0, out=out)
    return np.multiply(out, grad, out=out)


def _identity(z: Array, out: Array) -> Array:
    return z  # nothing to compute: the weighted sum is the output


# name -> (activation, chain): ``chain(z, y, grad, out)`` writes ``grad * activation'(z)``
# into ``out``. The identity's chain is None: its derivative is 1, nothing to multiply.
ACTIVATIONS: dict[str, tuple[Callable[[Array, Array], Array],
                             Callable[[Array, Array, Array, Array], Array] | None]] = {
    "tanh": (_tanh, _tanh_chain),
    "logistic": (_logistic, _logistic_chain),
    "relu": (_relu, _relu_chain),
    "identity": (_identity, None),
}


def activate(name: str, z: Array) -> Array:
    """Apply activation ``name`` (one of ACTIVATIONS) elementwise, into a new array."""
    return ACTIVATIONS[name][0](z, np.empty_like(z, dtype=np.float64))

