"""Receptive fields: the image in [-1, 1]^4 that drives each neuron highest."""

from __future__ import annotations

import numpy as np
import pytest

from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model
from pixelnet.trainer.patterns import CLASSES, CLEAN_PATTERNS
from pixelnet.trainer.receptive import image_grid, receptive_fields, weighted_sums


def one_layer(weights: np.ndarray, biases: np.ndarray | None, activation: str) -> Model:
    w = np.asarray(weights, dtype=np.float64).reshape(4, -1)
    out = Layer(np.eye(w.shape[1], 4), None, "identity")
    return Model((Layer(w, biases, activation), out))


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu", "identity"])
def test_first_layer_field_is_the_sign_of_the_weights(activation: str) -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 4))
    w[1, 2] = 0.0  # a pixel this neuron ignores
    model = one_layer(w, rng.normal(size=4), activation)
    (fields, _) = receptive_fields(model)
    assert np.array_equal(fields, np.sign(w.T))  # 0 weight -> grey: "doesn't care"


def test_the_lessons_layers_see_what_the_lesson_draws() -> None:
    layer1, layer2, layer3, output = receptive_fields(lesson_model())
    # Layer 1: TL+BL, TR+BR, TL-BL, TR-BR, the other pixels don't matter.
    assert layer1.tolist() == [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, -1, 0], [0, 1, 0, -1]]
    # Layer 2: e, f, g, h cover all four pixels.
    assert layer2.tolist() == [[1, 1, 1, 1], [-1, 1, -1, 1], [1, -1, -1, 1], [1, 1, -1, -1]]
    # Layer 3 (ReLU): each field and its opposite.
    assert np.array_equal(layer3[0::2], layer2)
    assert np.array_equal(layer3[1::2], -layer2)
    # Outputs: one image of the neuron's class (ties go to the darker one).
    for field, name in zip(output, CLASSES, strict=True):
        assert tuple(field) == CLEAN_PATTERNS[name][1]


def test_each_field_drives_its_neuron_at_least_as_high_as_any_other_image() -> None:
    model = lesson_model()
    fields = receptive_fields(model)
    rng = np.random.default_rng(0)
    probes = np.vstack([rng.uniform(-1, 1, (2000, 4)), image_grid(3)])
    for layer, (layer_fields, z_probe) in enumerate(zip(fields, weighted_sums(model, probes),
                                                        strict=True)):
        z_field = weighted_sums(model, layer_fields)[layer]
        assert np.all(np.diag(z_field)[None, :] >= z_probe - 1e-12)


def test_a_maximum_inside_the_box_is_found() -> None:
    # z = relu(x0 + 0.5) - 2 relu(x0) rises to 0.5 at x0 = 0 (grey), then falls:
    # linear chaining of the weights would say "black" (the net weight on x0 is -1).
    first = Layer(np.array([[1.0, 1.0]] + [[0.0, 0.0]] * 3), np.array([0.5, 0.0]), "relu")
    second = Layer(np.array([[1.0], [-2.0]]), None, "identity")
    out = Layer(np.ones((1, 4)), None, "identity")
    model = Model((first, second, out))
    assert receptive_fields(model)[1].tolist() == [[0.0, 0.0, 0.0, 0.0]]


def test_grid_needs_black_and_white() -> None:
    assert image_grid(2).shape == (16, 4)
    with pytest.raises(ValueError, match="at least 2"):
        image_grid(1)
