"""The training loop: shuffle, cut into batches, step downhill, watch the loss.

``fit`` returns the learned parameters and the loss history; it never prints.
A caller that wants a progress bar passes ``on_epoch``. All randomness (initial
weights, shuffling, dropout, the early-stopping split) comes from one
``np.random.default_rng(seed)``, so the same seed and data give the same
weights bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from pixelnet.errors import PixelnetError

from .activations import ACTIVATIONS
from .model_file import MAX_LAYERS, MAX_UNITS
from .network import (
    LOSSES,
    Params,
    Workspace,
    batch_gradients,
    init_params,
    loss_and_grad,
    predict_outputs,
)
from .optimizers import OPTIMIZERS, make_optimizer

IMPROVEMENT_FROM = ("last-progress", "best")  # what an epoch must beat by tol (StoppingRule)
EpochCallback = Callable[[int, float], None]
# Called with the parameters after each epoch; what it returns is kept in FitResult.history.
EpochWatch = Callable[[Params], dict[str, float]]


class TrainingError(PixelnetError, ValueError):
    """Impossible hyperparameters or unusable training data (a ValueError for scikit-learn)."""


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a fit; stored in the model file's training metadata."""

    hidden: tuple[int, ...] = (4, 4, 8)
    activations: tuple[str, ...] = ("tanh", "tanh", "relu")
    output_activation: str = "identity"
    loss: str = "cross-entropy"
    optimizer: str = "adam"
    learning_rate: float = 0.03
    momentum: float = 0.9
    epochs: int = 200
    batch_size: int | None = None  # None: 1 for "sgd" (the lesson's way), else 128
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0  # probability of silencing a hidden neuron during training
    bias: bool = True
    early_stopping: bool = False  # hold out validation_fraction, keep the best weights
    validation_fraction: float = 0.1
    patience: int | None = 5  # stop after this many epochs not improving by tol (StoppingRule)
    tol: float = 1e-3
    improvement_from: str = "last-progress"  # or "best": scikit-learn's rule (StoppingRule)
    seed: int = 0

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def all_activations(self) -> tuple[str, ...]:
        return (*self.activations, self.output_activation)

    @property
    def effective_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 1 if self.optimizer == "sgd" else 128

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["activations"] = list(self.activations)
        d["batch_size"] = self.effective_batch_size
        return d


def check_config(config: TrainConfig) -> None:
    """Refuse impossible hyperparameters with a message naming the one at fault."""
    if len(config.hidden) != len(config.activations):
        raise TrainingError(
            f"{len(config.hidden)} hidden layers but {len(config.activations)} activations"
        )
    if any(not 1 <= n <= MAX_UNITS for n in config.hidden):
        raise TrainingError(
            f"hidden layer sizes must be 1..{MAX_UNITS} (what a board can run), "
            f"got {list(config.hidden)}"
        )
    if len(config.hidden) >= MAX_LAYERS:
        raise TrainingError(f"at most {MAX_LAYERS - 1} hidden layers, got {len(config.hidden)}")
    for name in config.all_activations:
        if name not in ACTIVATIONS:
            raise TrainingError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    if config.loss not in LOSSES:
        raise TrainingError(f"unknown loss {config.loss!r} (known: {', '.join(LOSSES)})")
    if config.optimizer not in OPTIMIZERS:
        raise TrainingError(
            f"unknown optimizer {config.optimizer!r} (known: {', '.join(OPTIMIZERS)})"
        )
    if not 0 < config.learning_rate < math.inf:
        raise TrainingError(f"learning rate must be > 0, got {config.learning_rate}")
    if config.epochs < 1:
        raise TrainingError(f"epochs must be >= 1, got {config.epochs}")
    if config.batch_size is not None and config.batch_size < 1:
        raise TrainingError(f"batch size must be >= 1, got {config.batch_size}")
    if not (0 <= config.l1 < math.inf and 0 <= config.l2 < math.inf):
        raise TrainingError("l1 and l2 penalties must be finite and >= 0")
    if not 0 <= config.momentum < 1:
        raise TrainingError(f"momentum must be in [0, 1), got {config.momentum}")
    if config.seed < 0:
        raise TrainingError(f"seed must be >= 0, got {config.seed}")
    if not 0 <= config.dropout < 1:
        raise TrainingError(f"dropout must be in [0, 1), got {config.dropout}")
    if not 0 < config.validation_fraction < 1:
        raise TrainingError("validation fraction must be in (0, 1)")
    if config.improvement_from not in IMPROVEMENT_FROM:
        raise TrainingError(f"improvement_from must be one of {', '.join(IMPROVEMENT_FROM)}, "
                            f"got {config.improvement_from!r}")
    if config.patience is not None and config.patience < 1:
        raise TrainingError("patience must be >= 1 (or None to train every epoch)")


@dataclass
class FitResult:
    params: Params
    loss_curve: list[float]  # training objective per epoch (mean over its batches)
    validation_curve: list[float]  # validation loss per epoch (early stopping only)
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, float]]  # what ``watch`` said after each epoch (empty without one)


def fit(
    x: np.ndarray,
    truth: np.ndarray,
    config: TrainConfig,
    on_epoch: EpochCallback | None = None,
    watch: EpochWatch | None = None,
) -> FitResult:
    """Train a network on inputs ``x`` [n, n_in] against one-hot ``truth`` [n, n_out].

    ``watch`` measures the network after every epoch (e.g. accuracy for a
    training-curve plot); it costs nothing when left out. Overflow is not warned
    about as it happens: a loss that stops being finite ends the fit with a
    TrainingError naming the epoch.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _fit(x, truth, config, on_epoch, watch)


def _fit(
    x: np.ndarray,
    truth: np.ndarray,
    config: TrainConfig,
    on_epoch: EpochCallback | None,
    watch: EpochWatch | None,
) -> FitResult:
    rng = np.random.default_rng(config.seed)
    sizes = (x.shape[1], *config.hidden, truth.shape[1])
    params = init_params(sizes, config.bias, rng)
    x_val = t_val = None
    if config.early_stopping:
        x, truth, x_val, t_val = _split_validation(x, truth, config.validation_fraction, rng)
    optimizer = make_optimizer(config.optimizer, config.learning_rate, config.momentum)
    acts = config.all_activations
    batch = config.effective_batch_size
    n = x.shape[0]

    loss_curve: list[float] = []
    val_curve: list[float] = []
    grads = params.copy()  # the gradient buffer every batch writes into
    batches = EpochBatches(x, truth, batch, params.biases[0] is not None)
    # one workspace per batch size (the last batch of an epoch may be shorter)
    spaces = {rows: Workspace.like(params, rows) for rows in set(batches.sizes)}
    history: list[dict[str, float]] = []
    stopping = StoppingRule(config.patience, config.tol, config.improvement_from)
    best_params = params.copy()
    stopped_early = False
    for epoch in range(config.epochs):
        total = 0.0
        for rows, (columns, truth_columns) in zip(
                batches.sizes, batches.shuffle(rng.permutation(n)), strict=True):
            masks = _keep_masks(config, rows, rng) if config.dropout else None
            value, grads = batch_gradients(
                params, acts, config.loss, columns, truth_columns, config.l1, config.l2, masks,
                grads, spaces[rows],
            )
            optimizer.step(params.vector, grads.vector)
            total += value * rows
        loss_curve.append(total / n)
        if not np.isfinite(loss_curve[-1]):
            raise TrainingError(
                f"training diverged at epoch {epoch + 1} (the loss overflowed): "
                f"try a smaller learning rate than {config.learning_rate:g}"
            )
        if x_val is not None:
            val_curve.append(loss_and_grad(config.loss, predict_outputs(params, acts, x_val),
                                           t_val)[0])
        if watch is not None:
            history.append(watch(params))
        if on_epoch is not None:
            on_epoch(epoch + 1, loss_curve[-1])
        if stopping.update(val_curve[-1] if val_curve else loss_curve[-1]) and x_val is not None:
            best_params = params.copy()
        if stopping.stop:
            stopped_early = True
            break
    if config.early_stopping:
        params = best_params
    return FitResult(params, loss_curve, val_curve, len(loss_curve), stopped_early, history)


class StoppingRule:
    """When to stop: once ``patience`` epochs in a row ended without a loss ``tol`` below a
    reference loss (patience None: never).

    With ``improvement_from="last-progress"`` (pixelnet's default, as Keras' EarlyStopping)
    the reference is the loss of the last epoch that beat it by ``tol``: a slow, steady
    descent counts once it adds up to ``tol``. With ``"best"`` it is the best loss so far,
    following every improvement however small: scikit-learn's MLPClassifier rule (with
    ``n_iter_no_change = patience - 1``), which stops sooner on a slow descent.
    """

    def __init__(self, patience: int | None, tol: float,
                 improvement_from: str = "last-progress") -> None:
        self.patience, self.tol = patience, tol
        self.from_best = improvement_from == "best"
        self.reference = math.inf
        self.since_progress = 0
        self.stop = False

    def update(self, loss: float) -> bool:
        """Record one epoch's monitored loss; True when it became the reference (the
        weights early stopping keeps)."""
        margin = self.reference - self.tol
        progress = loss <= margin if self.from_best else loss < margin
        moved = loss < self.reference if self.from_best else progress
        if moved:
            self.reference = loss
        self.since_progress = 0 if progress else self.since_progress + 1
        self.stop = self.patience is not None and self.since_progress >= self.patience
        return moved


class EpochBatches:
    """The training set cut into batches stored as columns (see ``network.Workspace``).

    Each epoch gathers the whole set once in its shuffled order, straight into one
    contiguous block per batch (inputs with their row of ones when the first layer has a
    bias): a batch then costs no copy and no fancy indexing.
    """

    def __init__(self, x: np.ndarray, truth: np.ndarray, batch: int, bias: bool) -> None:
        self.x, self.truth, self.batch = x, truth, batch
        n, n_in = x.shape
        self.full, rest = divmod(n, batch)
        self.sizes = [batch] * self.full + ([rest] if rest else [])
        self.inputs = np.ones((self.full, n_in + bias, batch))  # the ones row is never written
        self.truths = np.empty((self.full, truth.shape[1], batch))
        self.last = (np.ones((n_in + bias, rest)), np.empty((truth.shape[1], rest)))
        self.shuffled = (np.empty_like(x), np.empty_like(truth))

    def shuffle(self, order: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every batch's (input columns, truth columns), examples taken in ``order``."""
        n_in, full, batch = self.x.shape[1], self.full, self.batch
        cut = full * batch
        x = np.take(self.x, order, axis=0, out=self.shuffled[0])
        truth = np.take(self.truth, order, axis=0, out=self.shuffled[1])
        self.inputs[:, :n_in] = x[:cut].reshape(full, batch, n_in).transpose(0, 2, 1)
        self.truths[...] = truth[:cut].reshape(full, batch, truth.shape[1]).transpose(0, 2, 1)
        batches = list(zip(self.inputs, self.truths, strict=True))
        if cut < len(order):
            self.last[0][:n_in] = x[cut:].T
            self.last[1][...] = truth[cut:].T
            batches.append(self.last)
        return batches


def _split_validation(
    x: np.ndarray, truth: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_val = max(1, round(fraction * x.shape[0]))
    if n_val >= x.shape[0]:
        raise TrainingError("too few examples to hold out a validation set")
    order = rng.permutation(x.shape[0])
    val, train = order[:n_val], order[n_val:]
    return x[train], truth[train], x[val], truth[val]


def _keep_masks(config: TrainConfig, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Inverted dropout: kept neurons are scaled by 1/keep so no rescaling is needed later."""
    keep = 1.0 - config.dropout
    return [(rng.random((n, units)) < keep) / keep for units in config.hidden]
