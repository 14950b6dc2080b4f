"""Training and test data: the eight clean images made realistic, and sensor recordings.

Generated data (``noisy_patterns``). A real four-pixel camera never sees pure
+1/-1: the scene is dimmer or brighter, has less contrast, and every photodiode
adds noise. Each sample takes one of the eight clean images ``p`` (pixel order
TL, TR, BL, BR; white +1, black -1, grey 0) and computes::

    x = clip(level + contrast * p + noise, -1, 1)
    contrast ~ U[0.5, 1.0]      how far apart white and black are
    level    ~ U[-0.3, 0.3]     overall light level (grey = 0 is the lesson's middle)
    noise    ~ N(0, 0.08) per pixel

The class is a property of the *structure* (which pixels are alike), so it
survives any level and contrast; with contrast >= 0.5 two classes differ by at
least 1.0 on two pixels, far beyond the noise, so 100% is attainable.
``training_set()`` is 500 samples per clean image (4,000 in all);
``noisy_test_set()`` is a held-out set of the same distribution from a fixed,
different seed.

Recordings (``load_recordings``): CSV files written by the host recorder.
Header ``label,tl,tr,bl,br`` (any order; extra columns such as ``seq`` or
``adc0..adc3`` are ignored); ``label`` is a class name (``vertical``) or a
scene name (``vertical_left``); pixel values are floats in [-1, 1] in the
lesson's encoding. A bad row raises ``RecordingError`` naming file and line.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pixelnet.errors import PixelnetError

from .patterns import CLASSES, SCENES, clean_patterns, scene_class

TRAIN_SAMPLES_PER_IMAGE = 500
TEST_SAMPLES_PER_IMAGE = 250
TRAIN_SEED = 20240
TEST_SEED = 777_001  # never used for training data: the held-out set stays held out
CONTRAST = (0.5, 1.0)
LEVEL = (-0.3, 0.3)
NOISE_STD = 0.08
CSV_PIXEL_COLUMNS = ("tl", "tr", "bl", "br")


class RecordingError(PixelnetError):
    """A recording CSV that cannot be read as labelled four-pixel samples."""


def noisy_patterns(
    samples_per_image: int,
    rng: np.random.Generator,
    noise_std: float = NOISE_STD,
) -> tuple[np.ndarray, np.ndarray]:
    """Realistic variations of the clean images, as (X [n, 4], class indices [n]), shuffled.

    Shuffled so any split (cross-validation folds, a validation tail) sees every image.
    """
    images, labels = clean_patterns()
    x = np.repeat(images, samples_per_image, axis=0)
    y = np.repeat(labels, samples_per_image)
    n = x.shape[0]
    contrast = rng.uniform(*CONTRAST, size=(n, 1))
    level = rng.uniform(*LEVEL, size=(n, 1))
    noise = rng.normal(0.0, noise_std, size=x.shape)
    order = rng.permutation(n)
    return np.clip(level + contrast * x + noise, -1.0, 1.0)[order], y[order]


def training_set(seed: int = TRAIN_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The default training data: 4,000 generated samples, the clean images among them."""
    x, y = noisy_patterns(TRAIN_SAMPLES_PER_IMAGE, np.random.default_rng(seed))
    clean_x, clean_y = clean_patterns()
    return np.vstack([clean_x, x]), np.concatenate([clean_y, y])


def noisy_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The held-out noisy test set (2,000 samples, fixed seed, never trained on)."""
    return noisy_patterns(TEST_SAMPLES_PER_IMAGE, np.random.default_rng(TEST_SEED))


HOLD_OUT = 0.2  # of each recorded class, kept out of training to test the model on
MIN_HELD_OUT = 5  # rows a class needs before some of them are held out


def hold_out(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A mask of the rows kept out of training: ``fraction`` of each class (stratified, seeded),
    none of a class with fewer than MIN_HELD_OUT rows (it needs them all to be learnt)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        if len(rows) >= MIN_HELD_OUT:
            mask[rng.choice(rows, size=max(1, round(fraction * len(rows))), replace=False)] = True
    return mask


def load_recordings(paths: Iterable[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Labelled samples from recording CSVs, as (X [n, 4], class indices [n])."""
    xs: list[list[float]] = []
    ys: list[int] = []
    for path in paths:
        _read_recording(Path(path), xs, ys)
    return np.asarray(xs, dtype=np.float64).reshape(-1, 4), np.asarray(ys, dtype=np.int64)


def _read_recording(path: Path, xs: list[list[float]], ys: list[int]) -> None:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise RecordingError(f"{path}: empty file (expected header label,tl,tr,bl,br)")
            columns = _column_indices(path, [h.strip().lower() for h in header])
            rows = 0
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                where = f"{path}, line {reader.line_num}"
                label, pixels = _parse_row(where, row, columns)
                xs.append(pixels)
                ys.append(label)
                rows += 1
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such recording file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RecordingError(f"{path}: cannot read recording ({exc})") from None
    if rows == 0:
        raise RecordingError(f"{path}: no samples after the header")


def _column_indices(path: Path, header: list[str]) -> list[int]:
    missing = [c for c in ("label", *CSV_PIXEL_COLUMNS) if c not in header]
    if missing:
        raise RecordingError(
            f"{path}, line 1: header lacks column(s) {', '.join(missing)} "
            f"(expected label,tl,tr,bl,br)"
        )
    return [header.index(c) for c in ("label", *CSV_PIXEL_COLUMNS)]


def _parse_row(where: str, row: list[str], columns: list[int]) -> tuple[int, list[float]]:
    if len(row) <= max(columns):
        raise RecordingError(f"{where}: {len(row)} fields, too few for the header")
    label = row[columns[0]].strip()
    if label in CLASSES:
        index = CLASSES.index(label)
    elif label in SCENES:
        index = CLASSES.index(scene_class(label))
    else:
        raise RecordingError(
            f"{where}: unknown label {label!r} (a class: {', '.join(CLASSES)}; or a scene name)"
        )
    pixels = []
    for name, col in zip(CSV_PIXEL_COLUMNS, columns[1:], strict=True):
        text = row[col].strip()
        try:
            value = float(text)
        except ValueError:
            raise RecordingError(f"{where}: {name} = {text!r} is not a number") from None
        if not (math.isfinite(value) and -1.0 <= value <= 1.0):
            raise RecordingError(f"{where}: {name} = {text} is outside [-1, 1]")
        pixels.append(value)
    return index, pixels
