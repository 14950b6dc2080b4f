"""Squash and rectify: each activation with its local derivative.

The lesson's chain rule needs, for every step, "how much does the output move
when the input moves a little". Each derivative here is written in terms of the
activation's *output* ``y`` where that is cheaper (tanh, logistic), else of its
input ``z`` — both are passed so every function has the same signature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _tanh(z: Array) -> Array:
    return np.tanh(z)


def _tanh_grad(z: Array, y: Array) -> Array:
    return 1.0 - y * y


def _logistic(z: Array) -> Array:
    # Split by sign so exp never overflows for large |z|.
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _logistic_grad(z: Array, y: Array) -> Array:
    return y * (1.0 - y)


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_grad(z: Array, y: Array) -> Array:
    return (z > 0).astype(np.float64)


def _identity(z: Array) -> Array:
    return z


def _identity_grad(z: Array, y: Array) -> Array:
    return np.ones_like(z, dtype=np.float64)


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]] = {
    "tanh": (_tanh, _tanh_grad),
    "logistic": (_logistic, _logistic_grad),
    "relu": (_relu, _relu_grad),
    "identity": (_identity, _identity_grad),
}


def activate(name: str, z: Array) -> Array:
    """Apply activation ``name`` (one of ACTIVATIONS) elementwise."""
    return ACTIVATIONS[name][0](z)


def activation_grad(name: str, z: Array, y: Array) -> Array:
    """d activation / d z at ``z`` (``y`` = activate(name, z))."""
    return ACTIVATIONS[name][1](z, y)
