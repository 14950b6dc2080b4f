"""``PixelnetClassifier``: the trainer behind scikit-learn's estimator interface.

So it works with ``cross_val_score``, ``GridSearchCV`` and pipelines: ``__init__``
only stores hyperparameters, ``fit`` returns ``self``, learned attributes end in
``_`` and follow ``MLPClassifier``'s names (``coefs_``, ``intercepts_``,
``loss_curve_``, ``n_iter_``). ``to_model()`` turns a fit into a model file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .model_file import Layer, Model
from .network import Params, predict_outputs, softmax
from .training import EpochWatch, TrainConfig, fit


class PixelnetClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained by backpropagation (see ``training.TrainConfig``).

    ``activations`` is one name per hidden layer, or a single name for all of
    them. ``predict_proba`` is the softmax of the outputs: calibrated for the
    cross-entropy loss, merely ordered like the outputs for the squared loss.
    Without biases (``bias=False``, the lesson's form) ``intercepts_`` are zeros.
    """

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (4, 4, 8),
        activations: tuple[str, ...] | str = ("tanh", "tanh", "relu"),
        output_activation: str = "identity",
        loss: str = "cross-entropy",
        optimizer: str = "adam",
        learning_rate: float = 0.03,
        momentum: float = 0.9,
        max_iter: int = 200,
        batch_size: int | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
        bias: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 5,
        tol: float = 1e-3,
        improvement_from: str = "last-progress",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activations = activations
        self.output_activation = output_activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.dropout = dropout
        self.bias = bias
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.improvement_from = improvement_from
        self.random_state = random_state

    def _config(self) -> TrainConfig:
        hidden = tuple(int(n) for n in self.hidden_layer_sizes)
        acts = self.activations
        acts = (acts,) * len(hidden) if isinstance(acts, str) else tuple(acts)
        seed = self.random_state
        if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(0, 2**31 - 1))
        return TrainConfig(
            hidden=hidden,
            activations=acts,
            output_activation=self.output_activation,
            loss=self.loss,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            epochs=self.max_iter,
            batch_size=self.batch_size,
            l1=self.l1,
            l2=self.l2,
            dropout=self.dropout,
            bias=self.bias,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            patience=self.patience,
            tol=self.tol,
            improvement_from=self.improvement_from,
            seed=int(seed),
        )

    def fit(
        self,
        X: Any,
        y: Any,
        on_epoch: Callable[[int, float], None] | None = None,
        watch: EpochWatch | None = None,
    ) -> PixelnetClassifier:
        """Train from scratch on ``X`` [n, n_features] and labels ``y``.

        ``watch`` (see ``training.fit``) is given the parameters after every
        epoch; its answers end up in ``history_``.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        config = self._config()
        self.classes_, encoded = np.unique(y, return_inverse=True)
        truth = np.eye(len(self.classes_))[encoded]
        result = fit(X, truth, config, on_epoch, watch)
        self.config_ = config
        self.params_ = result.params
        self.coefs_ = result.params.weights
        self.intercepts_ = [
            np.zeros(w.shape[1]) if b is None else b
            for w, b in zip(result.params.weights, result.params.biases, strict=True)
        ]
        self.loss_curve_ = result.loss_curve
        self.validation_curve_ = result.validation_curve
        self.history_ = result.history
        self.n_iter_ = result.epochs_run
        self.stopped_early_ = result.stopped_early
        return self

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return predict_outputs(self.params_, self.config_.all_activations, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return softmax(self._outputs(X))

    def predict(self, X: Any) -> np.ndarray:
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]

    def to_model(self, training: dict[str, Any] | None = None) -> Model:
        """The fitted network as a Model, hyperparameters and loss summary in its metadata.

        ``training`` adds to the metadata (e.g. a description of the data).
        Raises ModelFileError if the network does not fit the model format
        (four inputs, at most 16 units per layer).
        """
        check_is_fitted(self)
        return Model(
            layers=params_to_layers(self.params_, self.config_.all_activations),
            classes=tuple(str(c) for c in self.classes_),
            training={
                "trainer": "pixelnet",
                "seed": self.config_.seed,
                "hyperparameters": self.config_.to_dict(),
                "loss": loss_summary(self.loss_curve_),
                "epochs_run": self.n_iter_,
                **(training or {}),
            },
        )


def params_to_layers(params: Params, activations: tuple[str, ...]) -> tuple[Layer, ...]:
    return tuple(
        Layer(w.copy(), None if b is None else b.copy(), a)
        for w, b, a in zip(params.weights, params.biases, activations, strict=True)
    )


def loss_summary(curve: list[float]) -> dict[str, Any]:
    """The loss history in a few numbers (the whole curve would bloat the model file)."""
    return {
        "first": curve[0],
        "final": curve[-1],
        "min": min(curve),
        "epochs": len(curve),
        # every 10th epoch: enough to redraw the curve's shape
        "every_10th": curve[::10],
    }
