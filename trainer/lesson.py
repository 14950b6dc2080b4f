"""The lesson's hand-wired network: 4 -> 4 -> 4 -> 8 -> 4, no biases, weights in {-1, 0, +1}.

Layer 1 (tanh) looks at column and diagonal sums: TL+BL, TR+BR, TL-BL, TR-BR.
Layer 2 (tanh), from a0..a3: e = a0+a1, f = a1-a0, g = a2-a3, h = a2+a3.
Layer 3 (ReLU) splits each into its positive and negative part: +e, -e, +f, ...
Output (identity): each class adds its pair, relu(x) + relu(-x) = |x|.
"""

from __future__ import annotations

import numpy as np

from .model_file import Layer, Model
from .patterns import CLASSES

# Rows are inputs (TL, TR, BL, BR); columns are the layer's neurons.
_LAYER1 = [
    [1, 0, 1, 0],
    [0, 1, 0, 1],
    [1, 0, -1, 0],
    [0, 1, 0, -1],
]
_LAYER2 = [  # e, f, g, h from a0..a3
    [1, -1, 0, 0],
    [1, 1, 0, 0],
    [0, 0, 1, 1],
    [0, 0, -1, 1],
]
_LAYER3 = np.kron(np.eye(4), [[1, -1]]).tolist()  # +e, -e, +f, -f, ...
_OUTPUT = np.kron(np.eye(4), [[1], [1]]).tolist()  # solid = e pair, vertical = f pair, ...


def lesson_model() -> Model:
    """The network the lesson builds by hand; classifies the eight clean patterns."""

    def dense(rows: list[list[float]], activation: str) -> Layer:
        return Layer(np.asarray(rows, dtype=np.float64), None, activation)

    return Model(
        layers=(
            dense(_LAYER1, "tanh"),
            dense(_LAYER2, "tanh"),
            dense(_LAYER3, "relu"),
            dense(_OUTPUT, "identity"),
        ),
        classes=CLASSES,
        training={"source": "hand-wired network from the lesson"},
    )
