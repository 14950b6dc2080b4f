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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .activations import ACTIVATIONS

LOSSES = ("squared", "cross-entropy")


@dataclass
class Params:
    """The trainable numbers: ``weights[i]`` is [n_in, n_out], ``biases[i]`` [n_out] or None.

    Every array is a view into one flat ``vector``, layer after layer: ``blocks[i]`` is
    layer ``i``'s weight matrix with its bias as one more row below it ([n_in + 1, n_out];
    the weights alone without a bias). One vector lets an optimiser update everything with
    a handful of NumPy calls; one block per layer lets a batch whose inputs carry a column
    of ones get the weighted sums with their biases, and the weight and bias gradients, in
    one matrix product each. Built from separate arrays, the arrays are copied into a new
    vector.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    vector: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # empty: pack
    blocks: list[np.ndarray] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.vector.size:  # already the views of a vector
            return
        values = [a.copy() for a in self.arrays()]
        self.vector, self.blocks, self.weights, self.biases = _views(
            [w.shape for w in self.weights], [b is not None for b in self.biases])
        for view, value in zip(self.arrays(), values, strict=True):
            view[...] = value

    @classmethod
    def zeros(cls, shapes: list[tuple[int, int]], bias: list[bool]) -> Params:
        """Zero weights of the given [n_in, n_out] shapes, with biases where ``bias`` says."""
        vector, blocks, weights, biases = _views(shapes, bias)
        return cls(weights, biases, vector, blocks)

    def arrays(self) -> list[np.ndarray]:
        """Every trainable array, weights first; optimisers update these in place."""
        return self.weights + [b for b in self.biases if b is not None]

    def copy(self) -> Params:
        copy = Params.zeros([w.shape for w in self.weights], [b is not None for b in self.biases])
        copy.vector[:] = self.vector
        return copy


def _views(shapes: list[tuple[int, int]], bias: list[bool]) -> tuple[
        np.ndarray, list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
    """One zeroed vector and its views: per layer a block, its weight rows and its bias row."""
    block_shapes = [(n_in + has, n_out) for (n_in, n_out), has in zip(shapes, bias, strict=True)]
    ends = np.cumsum([rows * cols for rows, cols in block_shapes])
    vector = np.zeros(int(ends[-1]) if len(ends) else 0)
    blocks = [vector[end - rows * cols:end].reshape(rows, cols)
              for end, (rows, cols) in zip(ends, block_shapes, strict=True)]
    weights = [block[:n_in] for block, (n_in, _) in zip(blocks, shapes, strict=True)]
    biases = [block[-1] if has else None for block, has in zip(blocks, bias, strict=True)]
    return vector, blocks, weights, biases


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

    A batch of this network is tiny (a few neurons, a hundred rows), so what it costs is
    the number of NumPy calls and how much iterating machinery each one needs, not the
    arithmetic. So a training loop keeps one workspace per batch size and every pass
    writes into it (``out=``): a batch allocates nothing. Inside, a batch is stored one
    row per neuron and one column per example ("columns"), so every elementwise step
    works on whole contiguous arrays and the softmax sums over the few classes as one
    small matrix product. ``inputs[i]`` (what layer ``i`` sees) ends with a row of ones
    when the layer has a bias (see ``Params``); a hidden layer writes its outputs straight
    into the next layer's inputs. After a forward pass ``z[i]`` and ``outputs[i]`` are
    layer ``i``'s weighted sums and activations, and the loss writes dL/d(outputs) into
    ``grad_a[-1]``.
    """

    def __init__(self, sizes: tuple[int, ...], bias: list[bool], rows: int) -> None:
        units = sizes[1:]
        heights = [n + has for n, has in zip(sizes, bias, strict=False)]  # rows of inputs[i]
        starts = [0, *itertools.accumulate(heights[1:])]
        # Every hidden layer's outputs (with their rows of ones) in one block, so the slopes
        # of layers sharing an activation are one call; ``unmasked`` holds them before
        # dropout's mask, ``slopes`` their derivatives, ``unit`` ones to subtract from.
        self.hidden, self.unmasked, self.unit = (np.ones((starts[-1], rows)) for _ in range(3))
        self.slopes = np.empty((starts[-1], rows))
        self.starts = starts
        self.inputs = [np.ones((heights[0], rows))] + [
            self.hidden[a:b] for a, b in itertools.pairwise(starts)]
        self.z = [np.empty((n, rows)) for n in units]
        # where each hidden layer's activations go: into the next layer's inputs, or under
        # dropout into ``unmasked``; ``outputs[i]`` is the one the last forward pass used
        self.next_inputs = [self.inputs[i + 1][:n] for i, n in enumerate(units[:-1])]
        self.before_mask = [self.unmasked[a:a + n]
                            for a, n in zip(starts[:-1], units[:-1], strict=True)]
        self.final = np.empty((units[-1], rows))  # the output layer's activations
        self.outputs = [*self.next_inputs, self.final]
        self.grad_a = [np.empty((n, rows)) for n in units]  # dL/d(outputs of layer i)
        self.grad_z = [np.empty((n, rows)) for n in units]
        self.final_slope = (np.ones((units[-1], rows)), np.empty((units[-1], rows)))
        self.shifted = np.empty((sizes[-1], rows))
        self.class_ones = np.ones((1, sizes[-1]))  # sums over the classes as a product
        self.ones = np.ones(rows)  # and over the examples
        self.row = np.empty((1, rows))
        self.count = np.full((sizes[-1], rows), float(rows))  # divides like the scalar, faster
        self._slope_plans: dict[tuple[tuple[str, ...], bool], SlopePlan] = {}

    def slope_plan(self, activations: tuple[str, ...], dropout: bool) -> SlopePlan:
        """How to compute every layer's activation'(z) after a forward pass (see ``SlopePlan``),
        worked out once per activations."""
        key = (activations, dropout)
        plan = self._slope_plans.get(key)
        if plan is None:
            plan = self._slope_plans[key] = SlopePlan(self, activations, dropout)
        return plan

    @classmethod
    def like(cls, params: Params, rows: int) -> Workspace:
        """A workspace for batches of ``rows`` examples through the network ``params``."""
        sizes = (params.weights[0].shape[0], *(w.shape[1] for w in params.weights))
        return cls(sizes, [b is not None for b in params.biases], rows)

    def load(self, x: np.ndarray) -> np.ndarray:
        """``x`` [rows, n_in] as the first layer's input columns (with their row of ones)."""
        np.copyto(self.inputs[0][:x.shape[1]], x.T)
        return self.inputs[0]


def forward(
    params: Params,
    activations: tuple[str, ...],
    x: np.ndarray,
    keep_masks: list[np.ndarray] | None = None,
    space: Workspace | None = None,
) -> Workspace:
    """Run the batch ``x`` [rows, n_in] through every layer, writing into ``space`` (or a new
    workspace); see ``forward_columns``."""
    space = space if space is not None else Workspace.like(params, x.shape[0])
    return forward_columns(params, activations, space.load(x), keep_masks, space)


def forward_columns(
    params: Params,
    activations: tuple[str, ...],
    columns: np.ndarray,
    keep_masks: list[np.ndarray] | None,
    space: Workspace,
) -> Workspace:
    """Run a batch stored as ``columns`` (one per example, a row of ones below when the
    first layer has a bias) through every layer, writing into ``space``.

    ``keep_masks[i]`` [rows, units] (inverted dropout: 0 or 1/keep) multiplies the outputs
    of hidden layer ``i`` before the next layer sees them; None means no dropout.
    """
    inputs, outputs, z, blocks = space.inputs, space.outputs, space.z, params.blocks
    inputs[0] = columns
    targets = space.before_mask if keep_masks is not None else space.next_inputs
    for i, target in enumerate(targets):  # the hidden layers
        np.dot(blocks[i].T, inputs[i], z[i])  # weighted sums plus bias
        outputs[i] = target
        if ACTIVATIONS[activations[i]][0](z[i], target) is z[i]:  # the identity computes nothing
            np.copyto(target, z[i])
        if keep_masks is not None:
            np.multiply(target, keep_masks[i].T, out=space.next_inputs[i])
    np.dot(blocks[-1].T, inputs[-1], z[-1])
    outputs[-1] = ACTIVATIONS[activations[-1]][0](z[-1], space.final)  # the identity: z itself
    return space


def softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grad(loss: str, y: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean loss over the batch and dL/dy for network outputs ``y`` [rows, n_out] and one-hot
    ``truth``; see ``loss_columns``."""
    space = Workspace((y.shape[1], y.shape[1]), [False], y.shape[0])
    value = loss_columns(loss, y.T, truth.T, space)
    return value, space.grad_a[-1].T


def loss_columns(loss: str, y: np.ndarray, truth: np.ndarray, space: Workspace) -> float:
    """Mean loss over a batch of output columns ``y`` against one-hot ``truth`` columns;
    dL/dy goes into ``space.grad_a[-1]``.

    squared: the lesson's error, ``1/2 sum (y - t)^2`` per example; dL/dy = y - t.
    cross-entropy: ``-log softmax(y)[true class]`` = ``log sum exp(s) - s[true class]``
    with ``s = y - max(y)`` (the shift keeps exp finite); dL/dy = softmax(y) - t.
    """
    n = y.shape[1]
    grad = space.grad_a[-1]
    if loss == "squared":
        np.subtract(y, truth, out=grad)
        value = 0.5 * float(np.vdot(grad, grad)) / n
    elif loss == "cross-entropy":
        shifted, row = space.shifted, space.row
        np.maximum.reduce(y, axis=0, keepdims=True, out=row)
        np.subtract(y, row, out=shifted)
        np.exp(shifted, out=grad)
        np.dot(space.class_ones, grad, out=row)  # sum of exp per example
        np.divide(grad, row, out=grad)
        grad -= truth
        np.log(row, out=row)
        value = float(np.vdot(space.ones, row) - np.vdot(truth, shifted)) / n
    else:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    grad /= space.count
    return value


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
    slopes = space.slope_plan(activations, keep_masks is not None).compute()
    grad_a, inputs, weights = space.grad_a, space.inputs, params.weights
    for i in range(len(weights) - 1, -1, -1):
        grad_z = grad_a[i]
        if slopes[i] is not None:  # dL/dz = dL/da * activation'(z)
            grad_z = np.multiply(grad_z, slopes[i], space.grad_z[i])
        np.dot(inputs[i], grad_z.T, grads.blocks[i])  # weights and bias
        if i > 0:
            np.dot(weights[i], grad_z, grad_a[i - 1])
            if keep_masks is not None:
                grad_a[i - 1] *= keep_masks[i - 1].T
    return grads


class SlopePlan:
    """Every layer's activation'(z) in as few NumPy calls as the activations allow.

    The hidden layers' outputs lie one below the other in one block (``Workspace.hidden``,
    or ``unmasked`` under dropout), so a run of consecutive layers with the same activation
    gets its slopes in one call over the rows they span (the rows of ones in between get a
    slope too, never read). ``compute`` returns, per layer, its slopes or None (identity).
    """

    def __init__(self, space: Workspace, activations: tuple[str, ...], dropout: bool) -> None:
        source = space.unmasked if dropout else space.hidden
        starts, hidden = space.starts, activations[:-1]
        self.calls: list[tuple[Callable, np.ndarray, np.ndarray, np.ndarray]] = []
        self.views: list[np.ndarray | None] = []
        for name, layers in itertools.groupby(range(len(hidden)), key=hidden.__getitem__):
            layers = list(layers)
            rows = slice(starts[layers[0]], starts[layers[-1] + 1])
            slope = ACTIVATIONS[name][1]
            if slope is not None:
                self.calls.append((slope, source[rows], space.unit[rows], space.slopes[rows]))
            self.views += [None if slope is None else
                           space.slopes[starts[i]:starts[i] + space.z[i].shape[0]]
                           for i in layers]
        slope = ACTIVATIONS[activations[-1]][1]
        self.views.append(None if slope is None else space.final_slope[1])
        if slope is not None:
            self.calls.append((slope, space.final, *space.final_slope))

    def compute(self) -> list[np.ndarray | None]:
        for slope, y, ones, out in self.calls:
            slope(y, ones, out)
        return self.views


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
) -> tuple[float, Params]:
    """The objective on one batch, ``x`` [rows, n_in] against ``truth`` [rows, n_out] (mean
    loss + penalty), and its gradient for every parameter (into ``out`` if given)."""
    space = Workspace.like(params, x.shape[0])
    return batch_gradients(params, activations, loss, space.load(x), truth.T, l1, l2,
                           keep_masks, out, space)


def batch_gradients(
    params: Params,
    activations: tuple[str, ...],
    loss: str,
    columns: np.ndarray,
    truth: np.ndarray,
    l1: float,
    l2: float,
    keep_masks: list[np.ndarray] | None,
    out: Params | None,
    space: Workspace,
) -> tuple[float, Params]:
    """``loss_and_gradients`` of a batch stored as columns (see ``Workspace``): the input
    ``columns`` and one-hot ``truth`` [n_out, rows]; what a training loop calls."""
    forward_columns(params, activations, columns, keep_masks, space)
    value = loss_columns(loss, space.outputs[-1], truth, space)
    grads = backward(params, activations, space, keep_masks, out)
    if l1 or l2:
        add_penalty_grad(grads, params, l1, l2)
        value += penalty(params, l1, l2)
    return value, grads


def predict_outputs(params: Params, activations: tuple[str, ...], x: np.ndarray) -> np.ndarray:
    """Network outputs for ``x`` without dropout."""
    return forward(params, activations, x).outputs[-1].T
