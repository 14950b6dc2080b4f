"""The NumPy trainer: gradients against finite differences, fits against scikit-learn."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from pixelnet.trainer.activations import ACTIVATIONS
from pixelnet.trainer.data import noisy_test_set, training_set
from pixelnet.trainer.evaluate import confusion_matrix, evaluate
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.network import (
    LOSSES,
    Params,
    init_params,
    loss_and_gradients,
    predict_outputs,
)
from pixelnet.trainer.optimizers import SGD, Adam, Momentum
from pixelnet.trainer.patterns import CLASSES, clean_patterns
from pixelnet.trainer.train import train_default, train_model
from pixelnet.trainer.training import StoppingRule, TrainConfig, fit


def numeric_gradients(objective, params: Params, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences, one parameter at a time: slow, simple, independent."""
    grads = []
    for array in params.arrays():
        g = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            saved = array[idx]
            array[idx] = saved + eps
            up = objective()
            array[idx] = saved - eps
            down = objective()
            array[idx] = saved
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def check_gradients(acts, loss, bias, l1=0.0, l2=0.0, masks=None, sizes=(4, 5, 3, 4)) -> None:
    rng = np.random.default_rng(3)
    params = init_params(sizes, bias, rng)
    for b in params.biases:
        if b is not None:
            b[:] = rng.normal(0, 0.5, b.shape)  # non-zero biases exercise their gradient
    x = rng.uniform(-1, 1, (7, 4))
    truth = np.eye(4)[rng.integers(0, 4, 7)]

    def objective() -> float:
        return loss_and_gradients(params, acts, loss, x, truth, l1, l2, masks)[0]

    _, analytic = loss_and_gradients(params, acts, loss, x, truth, l1, l2, masks)
    for a, n in zip(analytic.arrays(), numeric_gradients(objective, params), strict=True):
        assert relative_error(a, n) < 1e-6


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_backprop_matches_finite_differences(activation: str, loss: str, bias: bool) -> None:
    check_gradients((activation, activation, activation), loss, bias)


def test_backprop_with_penalties_and_dropout_matches_finite_differences() -> None:
    rng = np.random.default_rng(9)
    masks = [(rng.random((7, n)) < 0.7) / 0.7 for n in (5, 3)]
    check_gradients(("tanh", "relu", "identity"), "cross-entropy", True, 0.01, 0.02, masks)


@pytest.mark.parametrize("dropout", [False, True], ids=["", "dropout"])
@pytest.mark.parametrize("acts", [("tanh", "tanh", "relu", "identity"),
                                  ("logistic", "identity", "identity", "tanh")])
def test_backprop_through_mixed_activations_matches_finite_differences(acts, dropout) -> None:
    """Layers sharing an activation get their slopes together; a change of activation or
    an identity between them must not mix them up."""
    rng = np.random.default_rng(4)
    masks = [(rng.random((7, n)) < 0.7) / 0.7 for n in (5, 3, 6)] if dropout else None
    check_gradients(acts, "squared", True, masks=masks, sizes=(4, 5, 3, 6, 4))


def _stop_epoch(rule: StoppingRule, curve) -> int | None:
    for epoch, loss in enumerate(curve, 1):
        rule.update(loss)
        if rule.stop:
            return epoch
    return None


def test_stopping_rule_measures_progress_from_the_last_progress_or_from_the_best() -> None:
    curve = [1.0, 0.95, 0.89, 0.88, 0.87, 0.86]
    # 0.89 is 0.1 below 1.0, the last progress; then two epochs without: stop after 5
    assert _stop_epoch(StoppingRule(2, 0.1, "last-progress"), curve) == 5
    # 0.95 is not 0.1 below 1.0, nor 0.89 below 0.95, the best by then: stop after 3
    assert _stop_epoch(StoppingRule(2, 0.1, "best"), curve) == 3
    assert _stop_epoch(StoppingRule(None, 0.1, "best"), curve) is None


def test_best_rule_stops_where_scikit_learn_stops() -> None:
    """scikit-learn's own bookkeeping fed the same loss curves (slow descents, plateaus,
    bumps, exact ties with the tolerance) stops at the same epoch."""
    rng = np.random.default_rng(5)
    steps = np.array([-0.004, -0.001, -0.0008, 0.0, 0.0005])
    extra = [None] * ("sample_weight" in inspect.signature(
        MLPClassifier._update_no_improvement_count).parameters)
    stops = set()
    for _ in range(100):
        curve = list(1.0 + np.cumsum(rng.choice(steps, size=40)))
        mlp = MLPClassifier(tol=1e-3, n_iter_no_change=3)
        mlp.loss_curve_, mlp.best_loss_, mlp._no_improvement_count = [], np.inf, 0
        theirs = None
        for epoch, loss in enumerate(curve, 1):
            mlp.loss_curve_.append(loss)
            mlp._update_no_improvement_count(False, None, None, *extra)
            if mlp._no_improvement_count > mlp.n_iter_no_change:
                theirs = epoch
                break
        assert _stop_epoch(StoppingRule(4, 1e-3, "best"), curve) == theirs
        stops.add(theirs)
    assert len(stops) > 5  # the curves exercise the rule, not one trivial case


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_default_network_is_perfect_on_clean_and_noisy_patterns(seed: int) -> None:
    model = train_default(seed=seed)
    assert model.sizes == (4, 4, 4, 8, 4)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "relu", "identity"]
    result = evaluate(model)
    assert result["clean_accuracy"] == 1.0
    assert result["noisy_accuracy"] >= 0.99
    assert model.training["evaluation"] == result


@pytest.mark.parametrize("seed", [0, 1])
def test_sklearn_mlp_with_the_same_layers_agrees_the_task_is_learnable(seed: int) -> None:
    # MLPClassifier has one activation for all hidden layers: tanh is the closest to ours.
    x, y = training_set()
    mlp = MLPClassifier((4, 4, 8), activation="tanh", solver="adam", random_state=seed,
                        max_iter=500).fit(x, y)
    clean_x, clean_y = clean_patterns()
    noisy_x, noisy_y = noisy_test_set()
    assert mlp.score(clean_x, clean_y) == 1.0
    assert mlp.score(noisy_x, noisy_y) >= 0.99


def test_same_seed_same_weights_bit_for_bit() -> None:
    config = TrainConfig(seed=11, dropout=0.1, early_stopping=True, epochs=20)
    a, b = train_model(config), train_model(config)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert la.weights.tobytes() == lb.weights.tobytes()
        assert la.biases.tobytes() == lb.biases.tobytes()
    assert a.hash == b.hash
    assert a.training == b.training
    assert train_model(TrainConfig(seed=12, dropout=0.1, early_stopping=True, epochs=20)).hash \
        != a.hash


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(optimizer="sgd", learning_rate=0.01, epochs=3, patience=None),
        TrainConfig(optimizer="momentum", learning_rate=0.05, batch_size=32, epochs=30),
        TrainConfig(optimizer="adam", loss="squared"),
        TrainConfig(bias=False),  # the lesson's form: relu breaks tanh's odd symmetry
        TrainConfig(output_activation="logistic", loss="squared", activations=("logistic",) * 3,
                    learning_rate=0.05, epochs=100),
    ],
    ids=["sgd-one-at-a-time", "momentum", "squared-loss", "no-bias", "logistic"],
)
def test_every_optimizer_and_loss_learns_the_clean_patterns(config: TrainConfig) -> None:
    result = evaluate(train_model(config))
    assert result["clean_accuracy"] == 1.0
    assert result["noisy_accuracy"] >= 0.95


def test_loss_history_is_returned_and_falls() -> None:
    x, y = training_set()
    result = fit(x, np.eye(4)[y], TrainConfig(epochs=8, patience=None))
    assert result.epochs_run == len(result.loss_curve) == 8
    assert not result.stopped_early
    assert result.loss_curve[-1] < result.loss_curve[0] / 10


def test_l1_penalty_makes_the_network_sparse() -> None:
    def small_fraction(l1: float) -> float:
        model = train_model(TrainConfig(l1=l1, epochs=60, patience=None))
        w = np.concatenate([layer.weights.ravel() for layer in model.layers])
        return float(np.mean(np.abs(w) < 0.05))

    assert small_fraction(0.003) > small_fraction(0.0) + 0.2


def test_early_stopping_watches_a_validation_split_and_keeps_the_best() -> None:
    x, y = training_set()
    result = fit(x, np.eye(4)[y], TrainConfig(early_stopping=True, epochs=200, patience=3))
    assert result.stopped_early
    assert len(result.validation_curve) == result.epochs_run
    x_clean, y_clean = clean_patterns()
    outputs = predict_outputs(result.params, ("tanh", "tanh", "relu", "identity"), x_clean)
    assert np.array_equal(outputs.argmax(axis=1), y_clean)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden": (4, 4)}, "2 hidden layers but 3 activations"),
        ({"activations": ("tanh", "tanh", "softplus")}, "unknown activation 'softplus'"),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"learning_rate": 0.0}, "learning rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_size": 0}, "batch size"),
    ],
)
def test_bad_hyperparameters_are_named(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**change)


def test_lesson_network_classifies_the_eight_clean_patterns() -> None:
    model = lesson_model()
    x, y = clean_patterns()
    assert np.array_equal(model.predict(x), y)
    assert model.sizes == (4, 4, 4, 8, 4)
    assert all(layer.biases is None for layer in model.layers)
    assert all(set(np.unique(layer.weights)) <= {-1.0, 0.0, 1.0} for layer in model.layers)


def test_lesson_walkthrough_dark_top_white_bottom_is_horizontal() -> None:
    # The lesson's worked example: dark pixels on top, white on the bottom.
    outputs = lesson_model().forward(np.array([-1.0, -1.0, 1.0, 1.0]))
    assert CLASSES[int(np.argmax(outputs))] == "horizontal"
    assert np.count_nonzero(outputs) == 1


def test_confusion_matrix_counts_truth_by_prediction() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_optimizer_steps_by_hand() -> None:
    g = np.array([2.0, -3.0])
    p = np.zeros(2)
    SGD(0.1).step(p, g)
    assert np.allclose(p, [-0.2, 0.3])
    p = np.zeros(2)
    momentum = Momentum(0.1, momentum=0.5)
    momentum.step(p, g)
    momentum.step(p, g)  # velocity -0.1 g, then -0.05 g - 0.1 g
    assert np.allclose(p, -0.1 * g * (1 + 1.5))
    p = np.zeros(2)
    Adam(0.01).step(p, g)  # bias-corrected first step: lr * sign(g)
    assert np.allclose(p, [-0.01, 0.01], atol=1e-9)
