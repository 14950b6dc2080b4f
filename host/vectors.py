"""Test vectors the host injects ("validate on target"), with their true class when known."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from pixelnet.errors import PixelnetError
from pixelnet.trainer.data import load_recordings, noisy_patterns

GRID_LEVELS = 11  # per pixel: 11**4 = 14,641 inputs covering [-1, 1]^4 in steps of 0.2
RANDOM_VECTORS = 10_000
RANDOM_SEED = 5_000_001
UNKNOWN = -1


def grid_vectors(levels: int = GRID_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """Every combination of ``levels`` evenly spaced values per pixel; no class known."""
    axis = np.linspace(-1.0, 1.0, levels)
    x = np.array(list(itertools.product(axis, repeat=4)), dtype=np.float64)
    return x, np.full(len(x), UNKNOWN, dtype=np.int64)


def random_vectors(
    n: int = RANDOM_VECTORS, seed: int = RANDOM_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy versions of the eight clean images (the trainer's distribution), labelled."""
    per_image = -(-n // 8)
    x, y = noisy_patterns(per_image, np.random.default_rng(seed))
    order = np.random.default_rng(seed + 1).permutation(len(y))[:n]
    return x[order], y[order]


def load_vectors(spec: str, count: int = RANDOM_VECTORS) -> tuple[np.ndarray, np.ndarray]:
    """``grid``, ``random`` or a recordings CSV (label,tl,tr,bl,br) as (x [N, 4], truth [N])."""
    if spec == "grid":
        return grid_vectors()
    if spec == "random":
        return random_vectors(count)
    if not Path(spec).exists():
        raise PixelnetError(f"--vectors {spec}: not grid, random or an existing CSV file")
    return load_recordings([spec])
