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

from .data import HOLD_OUT, NOISE_STD, hold_out, load_recordings, noisy_test_set, training_set
from .estimator import PixelnetClassifier
from .evaluate import confusion_matrix, evaluate
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
    recorded_y = held_y = np.empty(0, dtype=np.int64)
    held_x = np.empty((0, 4))
    if paths:
        x, recorded_y = load_recordings(paths)
        _check_every_class_recorded(recorded_y, generated)
        held = hold_out(recorded_y, HOLD_OUT, config.seed)
        held_x, held_y = x[held], recorded_y[held]
        parts_x.append(x[~held])
        parts_y.append(recorded_y[~held])
        described.append(f"recordings: {len(recorded_y)} samples from {', '.join(paths)}, "
                         f"{int(held.sum())} of them held out")
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
    training = {**model.training, "evaluation": evaluate(model)}
    if paths:
        training["recordings"] = recordings_report(model, recorded_y, held_x, held_y)
    return Model(model.layers, model.classes, training)


def recordings_report(model: Model, y: np.ndarray, held_x: np.ndarray,
                      held_y: np.ndarray) -> dict[str, object]:
    """Rows per class, the classes never recorded, and the accuracy on the held-out rows."""
    counts = np.bincount(y, minlength=len(CLASSES))
    predicted = model.predict(held_x) if len(held_y) else np.empty(0, dtype=np.int64)
    return {
        "rows_per_class": {name: int(n) for name, n in zip(CLASSES, counts, strict=True)},
        "missing_classes": [name for name, n in zip(CLASSES, counts, strict=True) if n == 0],
        "held_out": len(held_y),
        "held_out_accuracy": float(np.mean(predicted == held_y)) if len(held_y) else None,
        "held_out_confusion": confusion_matrix(held_y, predicted, len(CLASSES)).tolist(),
    }


def _check_every_class_recorded(y: np.ndarray, generated: bool) -> None:
    """Without the generated patterns, a class never recorded cannot be learnt at all."""
    missing = [name for i, name in enumerate(CLASSES) if not np.any(y == i)]
    if missing and not generated:
        raise TrainingError(
            f"the recordings have no {', '.join(missing)}: record them "
            f"(pixelnet record --label {missing[0]} …) or train on the generated patterns "
            "as well (leave out --no-generated)"
        )


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
        improvement_from=config.improvement_from,
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

