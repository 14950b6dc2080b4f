"""How a gradient becomes a weight change: plain steps, momentum, Adam.

Each optimiser updates the flat parameter vector (``Params.vector``, of which
every weight matrix and bias is a view) in place from the flat gradient, and
keeps whatever state it needs as flat vectors (Adam's two averages end to end in
one): one step is a few NumPy calls, however many layers the network has.
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
    """Per-weight step sizes from running averages of the gradient and its square.

    The two averages lie end to end in one vector (m, then v), as do the gradient and
    its square, so both are updated by the same three calls; every constant is an array
    of the vector's length, because NumPy spends more on a Python scalar operand than on
    a small array of the same value (the arithmetic is the same either way).
    """

    def __init__(
        self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._t = 0
        self._moments = np.empty(0)  # m then v; allocated by the first step

    def _allocate(self, n: int) -> None:
        self._moments = np.zeros(2 * n)
        self._square = np.empty(2 * n)  # the gradient, then its square
        self._scratch = np.empty(2 * n)
        self._rates = np.repeat([1.0 - self.beta1, 1.0 - self.beta2], n)
        self._eps = np.full(n, self.eps)
        self._lr = np.empty(n)

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        n = params.size
        if self._moments.size != 2 * n:
            self._allocate(n)
        self._t += 1
        # Bias-corrected step size, as in Kingma & Ba (2015), section 2.
        self._lr.fill(
            self.learning_rate
            * math.sqrt(1.0 - self.beta2**self._t)
            / (1.0 - self.beta1**self._t)
        )
        moments, both, scratch = self._moments, self._square, self._scratch
        # m += (1 - beta1) (g - m) is beta1 m + (1 - beta1) g; v likewise with g^2.
        both[:n] = grads
        np.multiply(grads, grads, out=both[n:])
        np.subtract(both, moments, out=scratch)
        scratch *= self._rates
        moments += scratch
        step = np.sqrt(moments[n:], out=scratch[:n])
        step += self._eps
        np.divide(moments[:n], step, out=step)
        step *= self._lr
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
