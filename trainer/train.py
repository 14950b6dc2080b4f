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

from .data import NOISE_STD, load_recordings, training_set
from .estimator import PixelnetClassifier
from .evaluate import evaluate
from .model_file import Layer, Model
from .patterns import CLASSES
from .training import TrainConfig, TrainingError


def train_model(
    config: TrainConfig,
    data_paths: Iterable[str | os.PathLike[str]] = (),
    generated: bool = True,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Model:
    """Fit ``config`` on the generated patterns and/or recordings; metadata says which."""
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
    estimator = _estimator(config).fit(x, np.asarray(CLASSES)[y], on_epoch=on_epoch)
    model = estimator.to_model({"data": described})
    # classes_ are the names sorted alphabetically; the board counts in CLASSES order.
    model = _in_class_order(model)
    return Model(model.layers, model.classes, {**model.training, "evaluation": evaluate(model)})


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

