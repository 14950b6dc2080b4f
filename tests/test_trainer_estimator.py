"""PixelnetClassifier against scikit-learn's own estimator checks, and in its tools."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import estimator_checks_generator

from pixelnet.errors import ModelFileError
from pixelnet.trainer.data import training_set
from pixelnet.trainer.estimator import PixelnetClassifier
from pixelnet.trainer.patterns import clean_patterns

# Not run, because scikit-learn would only skip them here (named so the reason is visible):
NOT_RUN = {
    "check_array_api_input": "needs SCIPY_ARRAY_API=1 and array-api-strict, not pixelnet's",
    "check_classifier_data_not_an_array": "needs pandas, which pixelnet does not use",
}


def _name(check) -> str:
    return getattr(check, "func", check).__name__


CHECKS = [
    pytest.param(estimator, check, id=_name(check))
    for estimator, check in estimator_checks_generator(PixelnetClassifier(random_state=0))
    if _name(check) not in NOT_RUN
]


def test_not_run_checks_exist() -> None:
    names = {_name(c) for _, c in estimator_checks_generator(PixelnetClassifier())}
    assert set(NOT_RUN) <= names


@pytest.mark.parametrize(("estimator", "check"), CHECKS)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_learned_attributes_follow_mlpclassifier() -> None:
    x, y = training_set()
    clf = PixelnetClassifier(random_state=0).fit(x, y)
    assert [w.shape for w in clf.coefs_] == [(4, 4), (4, 4), (4, 8), (8, 4)]
    assert [b.shape for b in clf.intercepts_] == [(4,), (4,), (8,), (4,)]
    assert clf.n_iter_ == len(clf.loss_curve_)
    proba = clf.predict_proba(x[:50])
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(x[:50]))
    # The attributes alone reproduce the prediction, as with MLPClassifier.
    a = x[:50]
    for w, b, act in zip(clf.coefs_, clf.intercepts_, ["tanh", "tanh", "relu"], strict=False):
        z = a @ w + b
        a = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}[act](z)
    logits = a @ clf.coefs_[-1] + clf.intercepts_[-1]
    assert np.array_equal(clf.classes_[logits.argmax(axis=1)], clf.predict(x[:50]))


def test_without_bias_intercepts_are_zero_and_the_model_has_none() -> None:
    x, y = training_set()
    clf = PixelnetClassifier(bias=False, random_state=0, max_iter=5).fit(x, y)
    assert all(not b.any() for b in clf.intercepts_)
    assert all(layer.biases is None for layer in clf.to_model().layers)


def test_works_in_cross_validation_and_grid_search() -> None:
    x, y = training_set()
    scores = cross_val_score(PixelnetClassifier(random_state=0), x, y, cv=3)
    assert scores.min() >= 0.99
    search = GridSearchCV(
        PixelnetClassifier(random_state=0, max_iter=20),
        {"activations": ["tanh", "relu"], "l2": [0.0, 1e-3]},
        cv=2,
    ).fit(x[::4], y[::4])
    assert search.best_score_ >= 0.95


def test_to_model_carries_classes_hyperparameters_and_loss_summary() -> None:
    x, y = training_set()
    names = np.array(["solid", "vertical", "diagonal", "horizontal"])[y]
    clf = PixelnetClassifier(random_state=3, activations="tanh").fit(x, names)
    model = clf.to_model({"data": ["generated"]})
    assert model.classes == ("diagonal", "horizontal", "solid", "vertical")
    assert model.training["seed"] == 3
    assert model.training["hyperparameters"]["activations"] == ["tanh"] * 3
    assert model.training["loss"]["final"] == clf.loss_curve_[-1]
    assert model.training["data"] == ["generated"]
    clean_x, _ = clean_patterns()
    assert np.array_equal(np.asarray(model.classes)[model.predict(clean_x)], clf.predict(clean_x))


def test_to_model_refuses_a_network_the_board_cannot_take() -> None:
    rng = np.random.default_rng(0)
    clf = PixelnetClassifier(random_state=0, max_iter=2).fit(rng.normal(size=(40, 5)),
                                                             rng.integers(0, 2, 40))
    with pytest.raises(ModelFileError, match=r"weights have shape \(5, 4\)"):
        clf.to_model()
