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
from dataclasses import dataclass, field

import numpy as np

from .activations import ACTIVATIONS

LOSSES = ("squared", "cross-entropy")


@dataclass
class Params:
    """The trainable numbers: ``weights[i]`` is [n_in, n_out], ``biases[i]`` [n_out] or None.

    Every array is a view into one flat ``vector`` (weights first, then biases, in the
    order ``arrays()`` lists them), so an optimiser updates all of them with a handful
    of NumPy calls on one vector instead of several calls per array. Built from
    separate arrays, the arrays are copied into a new vector.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    vector: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # empty: pack

    def __post_init__(self) -> None:
        if self.vector.size:  # already the views of a vector
            return
        values = [a.copy() for a in self.arrays()]
        self.vector, self.weights, self.biases = _views(
            [w.shape for w in self.weights], [b is not None for b in self.biases])
        for view, value in zip(self.arrays(), values, strict=True):
            view[...] = value

    @classmethod
    def zeros(cls, shapes: list[tuple[int, int]], bias: list[bool]) -> Params:
        """Zero weights of the given [n_in, n_out] shapes, with biases where ``bias`` says."""
        vector, weights, biases = _views(shapes, bias)
        return cls(weights, biases, vector)

    def arrays(self) -> list[np.ndarray]:
        """Every trainable array, weights first; optimisers update these in place."""
        return self.weights + [b for b in self.biases if b is not None]

    def copy(self) -> Params:
        copy = Params.zeros([w.shape for w in self.weights], [b is not None for b in self.biases])
        copy.vector[:] = self.vector
        return copy


def _views(shapes: list[tuple[int, int]], bias: list[bool]
           ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray | None]]:
    """One zeroed vector and its views: a weight matrix per shape, then the biases."""
    sizes = [n_in * n_out for n_in, n_out in shapes] + [
        n_out for (_, n_out), has in zip(shapes, bias, strict=True) if has]
    vector = np.zeros(sum(sizes))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    weights = [vector[s:e].reshape(shape) for s, e, shape in
               zip(starts, ends, shapes, strict=False)]
    bias_views = iter(vector[s:e] for s, e in zip(starts[len(shapes):], ends[len(shapes):],
                                                  strict=True))
    biases = [next(bias_views) if has else None for has in bias]
    return vector, weights, biases


def init_params(sizes: tuple[int, ...], bias: bool, rng: np.random.Generator) -> Params:
    """Random starting weights, Glorot-uniform: each layer's outputs start with similar spread.

    Biases start at zero: the weights alone break the symmetry between neurons.
    """
    shapes = list(itertools.pairwise(sizes))
    params = Params.zeros(shapes, [bias] * len(shapes))
    for w, (n_in, n_out) in zip(params.weights, shapes, strict=True):
        limit = np.sqrt(6.0 / (n_in + n_out))
        w[...] = rng.uniform(-limit, limit, size=(n_in, n_out))
    return params


class Workspace:
    """Every array one pass over a batch of ``rows`` examples writes into, allocated once.

    A batch of this network is tiny (a few neurons, a hundred rows), so what it costs
    is the number of NumPy calls, not arithmetic: a training loop keeps one workspace
    per batch size and every forward and backward pass writes into it (``out=``), so
    a batch allocates nothing. After ``forward``, ``inputs[i]``, ``z[i]`` and
    ``outputs[i]`` are what layer ``i`` saw, its weighted sum and its activation.
    """

    def __init__(self, sizes: tuple[int, ...], rows: int) -> None:
        self.rows = rows
        units = sizes[1:]
        self.z = [np.empty((rows, n)) for n in units]
        self.outputs = [np.empty((rows, n)) for n in units]  # the identity's is z itself
        self.masked = [np.empty((rows, n)) for n in sizes[:-1]]  # dropout's kept inputs
        self.inputs = list(self.masked)  # forward puts x or the masked outputs here
        self.grad_a = [np.empty((rows, n)) for n in units]  # dL/d(outputs of layer i)
        self.grad_z = [np.empty((rows, n)) for n in units]
        self.shifted = np.empty((rows, sizes[-1]))
        self.ones = np.ones(rows)  # sums over the batch as one matrix product
        self.class_ones = np.ones((sizes[-1], 1))  # sums over the classes, likewise
        self.row = np.empty((rows, 1))

    @classmethod
    def like(cls, params: Params, rows: int) -> Workspace:
        """A workspace for batches of ``rows`` examples through the network ``params``."""
        return cls((params.weights[0].shape[0], *(w.shape[1] for w in params.weights)), rows)


def forward(
    params: Params,
    activations: tuple[str, ...],
    x: np.ndarray,
    keep_masks: list[np.ndarray] | None = None,
    space: Workspace | None = None,
) -> Workspace:
    """Run the batch ``x`` through every layer, writing into ``space`` (or a new workspace).

    ``keep_masks[i]`` (inverted dropout: 0 or 1/keep) multiplies the outputs of
    hidden layer ``i`` before the next layer sees them; None means no dropout.
    """
    space = space if space is not None else Workspace.like(params, x.shape[0])
    a = x
    for i, (w, b, name) in enumerate(zip(params.weights, params.biases, activations, strict=True)):
        if keep_masks is not None and i > 0:
            a = np.multiply(a, keep_masks[i - 1], out=space.masked[i])
        space.inputs[i] = a
        z = np.matmul(a, w, out=space.z[i])
        if b is not None:
            z += b
        a = space.outputs[i] = ACTIVATIONS[name][0](z, space.outputs[i])
    return space


def softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grad(
    loss: str, y: np.ndarray, truth: np.ndarray, space: Workspace | None = None
) -> tuple[float, np.ndarray]:
    """Mean loss over the batch and dL/dy for network outputs ``y`` and one-hot ``truth``.

    squared: the lesson's error, ``1/2 sum (y - t)^2`` per example; dL/dy = y - t.
    cross-entropy: ``-log softmax(y)[true class]`` = ``log sum exp(s) - s[true class]``
    with ``s = y - max(y)`` (the shift keeps exp finite); dL/dy = softmax(y) - t.
    dL/dy is written into ``space.grad_a`` of the output layer (a new workspace if None).
    """
    n = y.shape[0]
    space = space if space is not None else Workspace((truth.shape[1], y.shape[1]), n)
    grad = space.grad_a[-1]
    if loss == "squared":
        np.subtract(y, truth, out=grad)
        value = 0.5 * float(np.vdot(grad, grad)) / n
    elif loss == "cross-entropy":
        shifted, row = space.shifted, space.row
        np.maximum.reduce(y, axis=1, keepdims=True, out=row)
        np.subtract(y, row, out=shifted)
        np.exp(shifted, out=grad)
        np.matmul(grad, space.class_ones, out=row)  # sum of exp per example
        np.divide(grad, row, out=grad)
        grad -= truth
        np.log(row, out=row)
        value = float(np.vdot(space.ones, row) - np.vdot(truth, shifted)) / n
    else:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    grad /= n
    return value, grad


def backward(
    params: Params,
    activations: tuple[str, ...],
    space: Workspace,
    keep_masks: list[np.ndarray] | None = None,
    out: Params | None = None,
) -> Params:
    """Chain the local derivatives from dL/d(output), in ``space.grad_a[-1]``, back to every
    weight and bias of the batch ``forward`` ran in ``space``.

    The gradients are written into ``out`` (shaped like ``params``; a training loop
    passes the same one every batch) or a new Params.
    """
    grads = out if out is not None else Params.zeros(
        [w.shape for w in params.weights], [b is not None for b in params.biases])
    for i in reversed(range(len(params.weights))):
        grad_z = grad_a = space.grad_a[i]
        derivative = ACTIVATIONS[activations[i]][1]
        if derivative is not None:  # dL/dz = dL/da * activation'(z)
            grad_z = derivative(space.z[i], space.outputs[i], space.grad_z[i])
            grad_z *= grad_a
        np.matmul(space.inputs[i].T, grad_z, out=grads.weights[i])
        grad_b = grads.biases[i]
        if grad_b is not None:
            np.matmul(space.ones, grad_z, out=grad_b)
        if i > 0:
            np.matmul(grad_z, params.weights[i].T, out=space.grad_a[i - 1])
            if keep_masks is not None:
                space.grad_a[i - 1] *= keep_masks[i - 1]
    return grads


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
    out: Params | None = None,
    space: Workspace | None = None,
) -> tuple[float, Params]:
    """The objective on one batch (mean loss + penalty) and its gradient for every parameter
    (written into ``out`` if given, see ``backward``; the batch's arrays into ``space``)."""
    space = forward(params, activations, x, keep_masks, space)
    value = loss_and_grad(loss, space.outputs[-1], truth, space)[0]
    grads = backward(params, activations, space, keep_masks, out)
    if l1 or l2:
        add_penalty_grad(grads, params, l1, l2)
        value += penalty(params, l1, l2)
    return value, grads


def predict_outputs(params: Params, activations: tuple[str, ...], x: np.ndarray) -> np.ndarray:
    """Network outputs for ``x`` without dropout."""
    return forward(params, activations, x).outputs[-1]
