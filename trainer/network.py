"""Dense layers and backpropagation, step by step as the lesson explains it.

A layer computes ``a = activation(a_prev @ W + b)``. Backpropagation walks the
chain backwards and multiplies the local derivative of each step:

- the loss against the truth gives ``dL/da`` of the output layer;
- squash / rectify:      ``dL/dz = dL/da * activation'(z)``;
- sum of weighted links: ``dL/dW = a_prev^T @ dL/dz`` (d(w*a)/dw = a, d(sum)/d(term) = 1),
  ``dL/db = sum over the batch of dL/dz``;
- weighted connection:   ``dL/da_prev = dL/dz @ W^T`` (d(w*a)/da = w).

Everything works on a whole batch at once (rows are examples). Nothing here
prints or reads files; randomness comes only from the ``np.random.Generator``
a caller passes in, so a seed reproduces a run bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .activations import activate, activation_grad

LOSSES = ("squared", "cross-entropy")


@dataclass
class Params:
    """The trainable numbers: ``weights[i]`` is [n_in, n_out], ``biases[i]`` [n_out] or None."""

    weights: list[np.ndarray]
    biases: list[np.ndarray | None]

    def arrays(self) -> list[np.ndarray]:
        """Every trainable array, weights first; optimisers update these in place."""
        return self.weights + [b for b in self.biases if b is not None]

    def copy(self) -> Params:
        return Params(
            [w.copy() for w in self.weights],
            [None if b is None else b.copy() for b in self.biases],
        )


def init_params(sizes: tuple[int, ...], bias: bool, rng: np.random.Generator) -> Params:
    """Random starting weights, Glorot-uniform: each layer's outputs start with similar spread.

    Biases start at zero: the weights alone break the symmetry between neurons.
    """
    weights, biases = [], []
    for n_in, n_out in itertools.pairwise(sizes):
        limit = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-limit, limit, size=(n_in, n_out)))
        biases.append(np.zeros(n_out) if bias else None)
    return Params(weights, biases)


@dataclass
class Step:
    """What the forward pass remembers about one layer for the backward pass."""

    inputs: np.ndarray  # a_prev (after dropout, if any)
    z: np.ndarray  # weighted sum
    outputs: np.ndarray  # activation(z)


def forward(
    params: Params,
    activations: tuple[str, ...],
    x: np.ndarray,
    keep_masks: list[np.ndarray] | None = None,
) -> list[Step]:
    """Run the batch ``x`` through every layer.

    ``keep_masks[i]`` (inverted dropout: 0 or 1/keep) multiplies the outputs of
    hidden layer ``i`` before the next layer sees them; None means no dropout.
    """
    steps = []
    a = x
    for i, (w, b, name) in enumerate(zip(params.weights, params.biases, activations, strict=True)):
        if keep_masks is not None and i > 0:
            a = a * keep_masks[i - 1]
        z = a @ w
        if b is not None:
            z = z + b
        steps.append(Step(a, z, activate(name, z)))
        a = steps[-1].outputs
    return steps


def softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grad(loss: str, y: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean loss over the batch and dL/dy for network outputs ``y`` and one-hot ``truth``.

    squared: the lesson's error, ``1/2 sum (y - t)^2`` per example; dL/dy = y - t.
    cross-entropy: ``-log softmax(y)[true class]``; dL/dy = softmax(y) - t.
    """
    n = y.shape[0]
    if loss == "squared":
        diff = y - truth
        return float(0.5 * np.sum(diff * diff) / n), diff / n
    if loss == "cross-entropy":
        shifted = y - y.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-np.sum(truth * log_p) / n), (np.exp(log_p) - truth) / n
    raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")


def backward(
    params: Params,
    activations: tuple[str, ...],
    steps: list[Step],
    grad_out: np.ndarray,
    keep_masks: list[np.ndarray] | None = None,
) -> Params:
    """Chain the local derivatives from dL/d(output) back to every weight and bias."""
    n_layers = len(steps)
    grad_w: list[np.ndarray] = [np.empty(0)] * n_layers
    grad_b: list[np.ndarray | None] = [None] * n_layers
    grad_a = grad_out
    for i in reversed(range(n_layers)):
        step = steps[i]
        grad_z = grad_a * activation_grad(activations[i], step.z, step.outputs)
        grad_w[i] = step.inputs.T @ grad_z
        if params.biases[i] is not None:
            grad_b[i] = grad_z.sum(axis=0)
        if i > 0:
            grad_a = grad_z @ params.weights[i].T
            if keep_masks is not None:
                grad_a = grad_a * keep_masks[i - 1]
    return Params(grad_w, grad_b)


def penalty(params: Params, l1: float, l2: float) -> float:
    """L1 (pushes weights to exactly zero: the lesson's sparse network) plus L2 on weights."""
    total = 0.0
    for w in params.weights:
        if l1:
            total += l1 * float(np.abs(w).sum())
        if l2:
            total += 0.5 * l2 * float(np.sum(w * w))
    return total


def add_penalty_grad(grads: Params, params: Params, l1: float, l2: float) -> None:
    """Add d(penalty)/dW to ``grads`` in place; biases are not penalised."""
    for g, w in zip(grads.weights, params.weights, strict=True):
        if l1:
            g += l1 * np.sign(w)
        if l2:
            g += l2 * w


def loss_and_gradients(
    params: Params,
    activations: tuple[str, ...],
    loss: str,
    x: np.ndarray,
    truth: np.ndarray,
    l1: float = 0.0,
    l2: float = 0.0,
    keep_masks: list[np.ndarray] | None = None,
) -> tuple[float, Params]:
    """The objective on one batch (mean loss + penalty) and its gradient for every parameter."""
    steps = forward(params, activations, x, keep_masks)
    value, grad_out = loss_and_grad(loss, steps[-1].outputs, truth)
    grads = backward(params, activations, steps, grad_out, keep_masks)
    add_penalty_grad(grads, params, l1, l2)
    return value + penalty(params, l1, l2), grads


def predict_outputs(params: Params, activations: tuple[str, ...], x: np.ndarray) -> np.ndarray:
    """Network outputs for ``x`` without dropout."""
    return forward(params, activations, x)[-1].outputs
