"""MLPClassifier -> Model: the same predictions, with an output layer a board can compute."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from pixelnet.trainer.data import noisy_test_set, training_set
from pixelnet.trainer.model_file import load_model, save_model
from pixelnet.trainer.network import softmax
from pixelnet.trainer.patterns import CLASSES
from pixelnet.trainer.sklearn_import import UnsupportedModelError, model_from_sklearn


def quick_mlp(activation: str, x: np.ndarray, y: np.ndarray, **kw) -> MLPClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier((4, 8), activation=activation, max_iter=30, random_state=0,
                             **kw).fit(x, y)


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu", "identity"])
def test_multiclass_predictions_are_identical(activation: str) -> None:
    x, y = training_set()
    labels = np.asarray(CLASSES)[y]
    mlp = quick_mlp(activation, x, labels)
    model = model_from_sklearn(mlp)
    assert model.classes == tuple(mlp.classes_)
    assert [layer.activation for layer in model.layers] == [activation] * 2 + ["identity"]
    test_x, _ = noisy_test_set()
    assert np.array_equal(np.asarray(model.classes)[model.predict(test_x)], mlp.predict(test_x))
    assert np.allclose(softmax(model.forward(test_x)), mlp.predict_proba(test_x))


def test_binary_single_logistic_output_becomes_two_outputs() -> None:
    x, y = training_set()
    keep = y < 2
    mlp = quick_mlp("tanh", x[keep], y[keep])
    assert mlp.coefs_[-1].shape[1] == 1  # scikit-learn's one-unit binary output
    model = model_from_sklearn(mlp)
    assert model.n_outputs == 2 and model.classes == ("0", "1")
    test_x, _ = noisy_test_set()
    assert np.array_equal(model.predict(test_x), mlp.predict(test_x))
    assert np.allclose(softmax(model.forward(test_x)), mlp.predict_proba(test_x))


def test_imported_model_round_trips_through_a_file(tmp_path) -> None:
    x, y = training_set()
    model = model_from_sklearn(quick_mlp("relu", x, y))
    loaded = load_model(save_model(model, tmp_path / "m.json"))
    assert loaded.hash == model.hash
    assert loaded.training["trainer"].startswith("scikit-learn")
    assert loaded.training["hyperparameters"]["hidden_layer_sizes"] == [4, 8]


def test_unsupported_models_are_refused_with_a_reason() -> None:
    with pytest.raises(UnsupportedModelError, match="not a fitted MLPClassifier"):
        model_from_sklearn(MLPClassifier())
    x, y = training_set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5).fit(x, y)
        multilabel = MLPClassifier((4,), max_iter=5).fit(x, np.eye(4)[y])
    with pytest.raises(UnsupportedModelError, match="not a fitted MLPClassifier"):
        model_from_sklearn(regressor)
    with pytest.raises(UnsupportedModelError, match="multilabel"):
        model_from_sklearn(multilabel)
