"""Bring a fitted scikit-learn ``MLPClassifier`` into the model format.

Only the argmax reaches the board, so the output layer is rewritten into one
that has the same argmax and needs no exponential:

- softmax (three or more classes) becomes identity logits: softmax is monotone
  in each logit, so the largest logit is the predicted class;
- binary classification, which scikit-learn fits with a single logistic unit
  ``p = logistic(z)``, becomes two identity outputs ``[-z/2, z/2]``: the second
  is larger exactly when ``z > 0``, i.e. ``p > 0.5``, which is when
  scikit-learn predicts ``classes_[1]``. Their difference is ``z``, so
  ``softmax([-z/2, z/2])`` even reproduces ``p``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelnet.errors import ModelFileError

from .estimator import loss_summary
from .model_file import Layer, Model

HIDDEN_ACTIVATIONS = ("tanh", "logistic", "relu", "identity")


class UnsupportedModelError(ModelFileError):
    """A scikit-learn model that cannot become a pixelnet model."""


def model_from_sklearn(mlp: Any) -> Model:
    """A Model that predicts what the fitted ``mlp`` (an MLPClassifier) predicts."""
    if not hasattr(mlp, "coefs_") or not hasattr(mlp, "classes_"):
        raise UnsupportedModelError(f"{type(mlp).__name__} is not a fitted MLPClassifier")
    if mlp.activation not in HIDDEN_ACTIVATIONS:
        raise UnsupportedModelError(f"hidden activation {mlp.activation!r} is not supported")
    if getattr(mlp, "n_outputs_", 1) != 1 and mlp.out_activation_ != "softmax":
        raise UnsupportedModelError("multilabel classifiers are not supported (one class each)")
    weights = [np.array(w, dtype=np.float64) for w in mlp.coefs_]
    biases = [np.array(b, dtype=np.float64) for b in mlp.intercepts_]
    layers = [
        Layer(w, b, mlp.activation) for w, b in zip(weights[:-1], biases[:-1], strict=True)
    ]
    layers.append(_argmax_output_layer(mlp.out_activation_, weights[-1], biases[-1]))
    return Model(
        tuple(layers),
        classes=tuple(str(c) for c in mlp.classes_),
        training=_metadata(mlp),
    )


def _argmax_output_layer(out_activation: str, w: np.ndarray, b: np.ndarray) -> Layer:
    if out_activation == "softmax":
        return Layer(w, b, "identity")
    if out_activation == "logistic" and w.shape[1] == 1:
        return Layer(np.hstack([-w / 2, w / 2]), np.concatenate([-b / 2, b / 2]), "identity")
    raise UnsupportedModelError(f"output activation {out_activation!r} is not supported")


def _metadata(mlp: Any) -> dict[str, Any]:
    import sklearn

    params = mlp.get_params()
    keys = ("hidden_layer_sizes", "activation", "solver", "alpha", "learning_rate_init",
            "batch_size", "max_iter", "random_state")
    meta: dict[str, Any] = {
        "trainer": f"scikit-learn {sklearn.__version__} {type(mlp).__name__}",
        "hyperparameters": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in params.items()
            if k in keys and (v is None or isinstance(v, int | float | str | tuple))
        },
        "epochs_run": int(getattr(mlp, "n_iter_", 0)),
    }
    curve = getattr(mlp, "loss_curve_", None)
    if curve:
        meta["loss"] = loss_summary([float(v) for v in curve])
    return meta
