"""How a gradient becomes a weight change: plain steps, momentum, Adam.

Each optimiser updates the flat parameter vector (``Params.vector``, of which
every weight matrix and bias is a view) in place from the flat gradient, and
keeps whatever state it needs as vectors of the same length: one step is a few
NumPy calls, however many layers the network has.
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")


class SGD:
    """The lesson's rule: take a small step downhill, ``w -= lr * dL/dw``."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        params -= self.learning_rate * grads


class Momentum:
    """Steps keep part of their previous direction, rolling through small bumps."""

    def __init__(self, learning_rate: float, momentum: float = 0.9) -> None:
        self.learning_rate = learning_rate
        self.momentum = momentum
        self._velocity: np.ndarray | None = None

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self._velocity is None:
            self._velocity = np.zeros_like(params)
        v = self._velocity
        v *= self.momentum
        v -= self.learning_rate * grads
        params += v


class Adam:
    """Per-weight step sizes from running averages of the gradient and its square."""

    def __init__(
        self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._t = 0
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self._scratch = np.empty(0)  # per-step temporaries, allocated once

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self._m is None or self._v is None:
            self._m = np.zeros_like(params)
            self._v = np.zeros_like(params)
            self._scratch = np.empty_like(params)
        self._t += 1
        # Bias-corrected step size, as in Kingma & Ba (2015), section 2.
        lr = (
            self.learning_rate
            * math.sqrt(1.0 - self.beta2**self._t)
            / (1.0 - self.beta1**self._t)
        )
        m, v, scratch = self._m, self._v, self._scratch
        # m += (1 - beta1) (g - m) is beta1 m + (1 - beta1) g, with fewer scalar operands
        # (each costs NumPy more than an operand of the same shape); v likewise with g^2.
        np.subtract(grads, m, out=scratch)
        scratch *= 1.0 - self.beta1
        m += scratch
        np.multiply(grads, grads, out=scratch)
        scratch -= v
        scratch *= 1.0 - self.beta2
        v += scratch
        step = np.sqrt(v, out=scratch)
        step += self.eps
        np.divide(m, step, out=step)
        step *= lr
        params -= step


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9) -> SGD | Momentum | Adam:
    """The optimiser called ``name`` (one of OPTIMIZERS)."""
    if name == "sgd":
        return SGD(learning_rate)
    if name == "momentum":
        return Momentum(learning_rate, momentum)
    if name == "adam":
        return Adam(learning_rate)
    raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")
