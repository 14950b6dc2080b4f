"""How good is a network: accuracy on the clean images and on the held-out noisy set."""

from __future__ import annotations

from typing import Any

import numpy as np

from .data import noisy_test_set
from .model_file import Model
from .patterns import CLASSES, clean_patterns


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts [true class, predicted class]."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def evaluate(model: Model) -> dict[str, Any]:
    """Clean and noisy held-out accuracy, final confusion matrix; JSON-able.

    Only meaningful for models over the four standard classes in CLASSES order.
    """
    if model.classes != CLASSES:
        raise ValueError(f"model classes {model.classes} are not the standard {CLASSES}")
    clean_x, clean_y = clean_patterns()
    noisy_x, noisy_y = noisy_test_set()
    noisy_pred = model.predict(noisy_x)
    return {
        "clean_accuracy": float(np.mean(model.predict(clean_x) == clean_y)),
        "noisy_accuracy": float(np.mean(noisy_pred == noisy_y)),
        "noisy_samples": int(noisy_y.size),
        "noisy_confusion": confusion_matrix(noisy_y, noisy_pred, len(CLASSES)).tolist(),
    }


def format_confusion(matrix: list[list[int]] | np.ndarray, classes: tuple[str, ...]) -> str:
    """A text table, rows = truth, columns = predicted."""
    width = max(len(c) for c in classes) + 1
    lines = [" " * width + "".join(f"{c[:width - 1]:>{width}}" for c in classes) + "  <- predicted"]
    for name, row in zip(classes, matrix, strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)
