"""How a gradient becomes a weight change: plain steps, momentum, Adam.

Each optimiser updates the parameter arrays in place, in the order
``Params.arrays()`` lists them, and keeps whatever state it needs per array.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")


class SGD:
    """The lesson's rule: take a small step downhill, ``w -= lr * dL/dw``."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        for p, g in zip(params, grads, strict=True):
            p -= self.learning_rate * g


class Momentum:
    """Steps keep part of their previous direction, rolling through small bumps."""

    def __init__(self, learning_rate: float, momentum: float = 0.9) -> None:
        self.learning_rate = learning_rate
        self.momentum = momentum
        self._velocity: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        if self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self._velocity, strict=True):
            v *= self.momentum
            v -= self.learning_rate * g
            p += v


class Adam:
    """Per-weight step sizes from running averages of the gradient and its square."""

    def __init__(
        self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._t = 0
        self._m: list[np.ndarray] | None = None
        self._v: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        if self._m is None or self._v is None:
            self._m = [np.zeros_like(p) for p in params]
            self._v = [np.zeros_like(p) for p in params]
        self._t += 1
        # Bias-corrected step size, as in Kingma & Ba (2015), section 2.
        lr = (
            self.learning_rate
            * np.sqrt(1.0 - self.beta2**self._t)
            / (1.0 - self.beta1**self._t)
        )
        for p, g, m, v in zip(params, grads, self._m, self._v, strict=True):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            p -= lr * m / (np.sqrt(v) + self.eps)


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9) -> SGD | Momentum | Adam:
    """The optimiser called ``name`` (one of OPTIMIZERS)."""
    if name == "sgd":
        return SGD(learning_rate)
    if name == "momentum":
        return Momentum(learning_rate, momentum)
    if name == "adam":
        return Adam(learning_rate)
    raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")
