"""Train a model file's worth of network: data in, validated Model out.

``train_default`` is the network ``pixelnet demo`` puts on a board:
4 -> 4, 4, 8 -> 4 with tanh, tanh, relu hidden layers (the lesson's shape) and
an **identity output layer trained with softmax cross-entropy**. Why identity:
the class is the argmax, and softmax never changes which output is largest, so
the board needs no exponential at all; the outputs stay linear in the last
hidden layer, which is the cheapest and most exact thing to do in fixed point
(the lesson's own output layer is identity too). Cross-entropy rather than
squared error because it keeps pushing misclassified examples hard and so
converges in fewer epochs on the same data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np

from .data import NOISE_STD, load_recordings, noisy_test_set, training_set
from .estimator import PixelnetClassifier
from .evaluate import evaluate
from .model_file import Layer, Model
from .network import Params, predict_outputs
from .patterns import CLASSES, clean_patterns
from .training import EpochWatch, TrainConfig, TrainingError


def train_model(
    config: TrainConfig,
    data_paths: Iterable[str | os.PathLike[str]] = (),
    generated: bool = True,
    on_epoch: Callable[[int, float], None] | None = None,
    curves: bool = False,
) -> Model:
    """Fit ``config`` on the generated patterns and/or recordings; metadata says which.

    With ``curves`` the clean and noisy held-out accuracy are measured after
    every epoch and kept with the loss in the metadata's ``curves`` (for
    ``pixelnet train --plot``).
    """
    paths = [str(p) for p in data_paths]
    if not generated and not paths:
        raise TrainingError("no training data: pass recordings or keep the generated patterns")
    parts_x, parts_y, described = [], [], []
    if generated:
        x, y = training_set()
        parts_x.append(x)
        parts_y.append(y)
        described.append(
            f"generated: {len(y)} samples (8 clean images + contrast/level/noise std {NOISE_STD})"
        )
    if paths:
        x, y = load_recordings(paths)
        parts_x.append(x)
        parts_y.append(y)
        described.append(f"recordings: {len(y)} samples from {', '.join(paths)}")
    x, y = np.vstack(parts_x), np.concatenate(parts_y)
    labels = np.asarray(CLASSES)[y]
    watch = _accuracy_watch(config, np.unique(labels)) if curves else None
    estimator = _estimator(config).fit(x, labels, on_epoch=on_epoch, watch=watch)
    extra: dict = {"data": described}
    if curves:
        extra["curves"] = {
            "loss": list(estimator.loss_curve_),
            **{key: [h[key] for h in estimator.history_] for key in ACCURACY_CURVES},
        }
    model = estimator.to_model(extra)
    # classes_ are the names sorted alphabetically; the board counts in CLASSES order.
    model = _in_class_order(model)
    return Model(model.layers, model.classes, {**model.training, "evaluation": evaluate(model)})


ACCURACY_CURVES = ("clean_accuracy", "noisy_accuracy")


def _accuracy_watch(config: TrainConfig, fitted_classes: np.ndarray) -> EpochWatch:
    """Clean and noisy held-out accuracy of the network as it stands after an epoch.

    The estimator numbers its outputs in ``fitted_classes`` order (sorted
    names); the truth here is in CLASSES order, so compare names.
    """
    clean_x, clean_y = clean_patterns()
    noisy_x, noisy_y = noisy_test_set()
    names = np.asarray(CLASSES)
    acts = config.all_activations

    def accuracy(params: Params, x: np.ndarray, y: np.ndarray) -> float:
        predicted = fitted_classes[np.argmax(predict_outputs(params, acts, x), axis=1)]
        return float(np.mean(predicted == names[y]))

    def watch(params: Params) -> dict[str, float]:
        return {"clean_accuracy": accuracy(params, clean_x, clean_y),
                "noisy_accuracy": accuracy(params, noisy_x, noisy_y)}

    return watch


def train_default(seed: int = 0, data_paths: Iterable[str | os.PathLike[str]] = ()) -> Model:
    """The default four-pixel network (see the module docstring), fitted in well under a second."""
    return train_model(TrainConfig(seed=seed), data_paths)


def _estimator(config: TrainConfig) -> PixelnetClassifier:
    return PixelnetClassifier(
        hidden_layer_sizes=config.hidden,
        activations=config.activations,
        output_activation=config.output_activation,
        loss=config.loss,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        momentum=config.momentum,
        max_iter=config.epochs,
        batch_size=config.batch_size,
        l1=config.l1,
        l2=config.l2,
        dropout=config.dropout,
        bias=config.bias,
        early_stopping=config.early_stopping,
        validation_fraction=config.validation_fraction,
        patience=config.patience,
        tol=config.tol,
        random_state=config.seed,
    )


def _in_class_order(model: Model) -> Model:
    """Permute the output layer so outputs follow CLASSES (the board's class indices)."""
    order = [model.classes.index(c) for c in CLASSES if c in model.classes]
    if len(order) != len(CLASSES):
        missing = [c for c in CLASSES if c not in model.classes]
        raise TrainingError(f"training data has no examples of {', '.join(missing)}")
    last = model.layers[-1]
    biases = None if last.biases is None else last.biases[order]
    layers = (*model.layers[:-1], Layer(last.weights[:, order], biases, last.activation))
    return Model(layers, CLASSES, model.training)

