"""The four-pixel camera: pixel order, classes and the eight clean patterns.

Pixel order, used everywhere (model inputs, ADC pins, serial frames, CSV)::

    +----+----+
    | TL | TR |      index 0 = top-left      (A0)
    +----+----+      index 1 = top-right     (A1)
    | BL | BR |      index 2 = bottom-left   (A2)
    +----+----+      index 3 = bottom-right  (A3)

Brightness encoding, as in the lesson: white = +1, black = -1, grey = 0.
"""

from __future__ import annotations

import numpy as np

PIXELS: tuple[str, ...] = ("top_left", "top_right", "bottom_left", "bottom_right")
N_PIXELS = len(PIXELS)
CLASSES: tuple[str, ...] = ("solid", "vertical", "diagonal", "horizontal")
ENCODING = "white=+1, black=-1, grey=0"

# Two clean black-and-white images per class, pixels in PIXELS order.
CLEAN_PATTERNS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "solid": ((1, 1, 1, 1), (-1, -1, -1, -1)),
    "vertical": ((1, -1, 1, -1), (-1, 1, -1, 1)),
    "diagonal": ((1, -1, -1, 1), (-1, 1, 1, -1)),
    "horizontal": ((1, 1, -1, -1), (-1, -1, 1, 1)),
}

# Scene names for the eight clean images, e.g. "vertical_left" is the image
# whose left column is white. Virtual boards and recordings use these names.
SCENES: dict[str, tuple[int, int, int, int]] = {
    "solid_white": CLEAN_PATTERNS["solid"][0],
    "solid_black": CLEAN_PATTERNS["solid"][1],
    "vertical_left": CLEAN_PATTERNS["vertical"][0],
    "vertical_right": CLEAN_PATTERNS["vertical"][1],
    "diagonal_main": CLEAN_PATTERNS["diagonal"][0],
    "diagonal_anti": CLEAN_PATTERNS["diagonal"][1],
    "horizontal_top": CLEAN_PATTERNS["horizontal"][0],
    "horizontal_bottom": CLEAN_PATTERNS["horizontal"][1],
}


def scene_class(scene: str) -> str:
    """The class name of a scene name ("vertical_left" -> "vertical")."""
    if scene not in SCENES:
        raise KeyError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
    return scene.split("_", 1)[0]


def clean_patterns() -> tuple[np.ndarray, np.ndarray]:
    """The eight clean images as (X float64 [8, 4], y int class indices [8])."""
    images, labels = [], []
    for label, (name, pair) in enumerate(CLEAN_PATTERNS.items()):
        assert CLASSES[label] == name
        for image in pair:
            images.append(image)
            labels.append(label)
    return np.asarray(images, dtype=np.float64), np.asarray(labels, dtype=np.int64)
