"""Receptive fields: for every neuron, the 2x2 image that drives it highest.

The lesson's definition, taken literally: "what set of inputs makes the value
of this neuron as high as it could possibly be", over every image a camera can
see, the box [-1, 1]^4 (black -1, grey 0, white +1).

How it is found: every image of a grid with ``levels`` brightness steps per
pixel (default 9: -1, -0.75, ..., +1, so 6,561 images) goes through the network
in one batch, and each neuron keeps the image with the largest weighted sum
``z``. The activation is monotone, so the same image maximises the neuron's
output, but ``z`` never saturates the way tanh does, so near-ties stay apart.

- First layer: ``z = w . x + b`` is largest at a corner of the box, white where
  the weight is positive and black where it is negative, so the grid answer is
  exact (and the bias changes nothing).
- Deeper layers chain the layers below, squashing and rectifying included; the
  maximum can then lie inside the box, and the grid finds it to within one step.
  Chaining weights linearly instead would be exact but wrong for the lesson's
  own output neurons (relu(e) + relu(-e) would cancel to grey).

Ties (within 1e-9 relative) go to the image closest to grey, the smallest
``sum |x|``: a pixel the neuron ignores shows grey, the lesson's "doesn't care";
remaining ties go to the first image in grid order (darker pixels first, top-left
most significant), e.g. all black before all white for the lesson's "solid".
"""

from __future__ import annotations

import itertools

import numpy as np

from .activations import activate
from .model_file import Model
from .patterns import N_PIXELS

DEFAULT_LEVELS = 9
TIE_TOLERANCE = 1e-9


def image_grid(levels: int = DEFAULT_LEVELS) -> np.ndarray:
    """Every 2x2 image with ``levels`` evenly spaced brightnesses per pixel, [levels^4, 4]."""
    if levels < 2:
        raise ValueError(f"need at least 2 brightness levels (black and white), got {levels}")
    steps = np.linspace(-1.0, 1.0, levels)
    return np.array(list(itertools.product(steps, repeat=N_PIXELS)), dtype=np.float64)


def weighted_sums(model: Model, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's ``z`` (before its activation) for the images ``x``."""
    sums = []
    a = x
    for layer in model.layers:
        z = a @ layer.weights
        if layer.biases is not None:
            z = z + layer.biases
        sums.append(z)
        a = activate(layer.activation, z)
    return sums


def receptive_fields(model: Model, levels: int = DEFAULT_LEVELS) -> list[np.ndarray]:
    """Per layer, an array [units, 4]: each neuron's receptive field in the pixel order."""
    grid = image_grid(levels)
    greyness = np.abs(grid).sum(axis=1)
    fields = []
    for z in weighted_sums(model, grid):
        best = z.max(axis=0)
        tolerance = TIE_TOLERANCE * np.maximum(1.0, np.abs(best))
        layer_fields = []
        for unit in range(z.shape[1]):
            candidates = np.flatnonzero(z[:, unit] >= best[unit] - tolerance[unit])
            chosen = candidates[np.argmin(greyness[candidates])]  # first on ties: grid order
            layer_fields.append(grid[chosen])
        fields.append(np.array(layer_fields))
    return fields


def input_fields() -> np.ndarray:
    """The input neurons' fields: own pixel white, the others grey (they don't care)."""
    return np.eye(N_PIXELS)
