"""Training data: generated patterns and labelled CSV recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixelnet.trainer.data import (
    RecordingError,
    load_recordings,
    noisy_patterns,
    noisy_test_set,
    training_set,
)
from pixelnet.trainer.patterns import CLASSES, CLEAN_PATTERNS, clean_patterns


def test_training_set_has_about_4000_samples_of_every_class_in_range() -> None:
    x, y = training_set()
    assert x.shape == (4008, 4) and y.shape == (4008,)
    assert np.bincount(y).tolist() == [1002] * 4
    assert x.min() >= -1.0 and x.max() <= 1.0
    clean_x, _ = clean_patterns()
    assert np.array_equal(x[:8], clean_x)


def test_generated_samples_keep_their_class_structure() -> None:
    # Without noise, an image projects onto its own class's pattern by at least 2
    # (white and black pixels at least 1.0 apart, even after clipping) and onto the
    # other patterns by exactly 0; solid images are uniform.
    x, y = noisy_patterns(200, np.random.default_rng(0), noise_std=0.0)
    patterns = np.array([CLEAN_PATTERNS[name][0] for name in CLASSES[1:]]).T
    projections = np.abs(x @ patterns)
    for label in range(1, len(CLASSES)):
        own = projections[y == label]
        assert np.all(own[:, label - 1] >= 2 - 1e-9)
        assert np.allclose(np.delete(own, label - 1, axis=1), 0.0)
    solid = x[y == 0]
    assert np.allclose(projections[y == 0], 0.0)
    assert np.allclose(solid, solid[:, :1])


def test_held_out_set_is_fixed_and_differs_from_training() -> None:
    a, b = noisy_test_set(), noisy_test_set()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    train_x, _ = training_set()
    unclipped = a[0][np.all(np.abs(a[0]) < 1.0, axis=1)]  # clipping makes legitimate twins
    assert len(unclipped) > 1000
    assert not {tuple(row) for row in unclipped} & {tuple(row) for row in train_x}
    assert np.bincount(a[1]).tolist() == [500] * 4


def write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_recordings_load_with_extra_columns_and_scene_labels(tmp_path: Path) -> None:
    first = write(tmp_path, "seq,label,tl,tr,bl,br,adc0\n"
                  "1,vertical,0.9,-0.8,0.85,-0.9,1000\n"
                  "2,horizontal_top,1,1,-1,-1,3\n\n", "a.csv")
    second = write(tmp_path, "label,br,bl,tr,tl\nsolid,0.1,0.1,0.1,0.1\n", "b.csv")
    x, y = load_recordings([first, second])
    assert x.tolist() == [[0.9, -0.8, 0.85, -0.9], [1, 1, -1, -1], [0.1, 0.1, 0.1, 0.1]]
    assert [CLASSES[i] for i in y] == ["vertical", "horizontal", "solid"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label,tl,tr,bl,br\nstripes,0,0,0,0\n", r"line 2: unknown label 'stripes'"),
        ("label,tl,tr,bl,br\nsolid,0,0,0,0\nsolid,0,x,0,0\n", r"line 3: tr = 'x' is not a number"),
        ("label,tl,tr,bl,br\nsolid,0,0,1.5,0\n", r"line 2: bl = 1.5 is outside \[-1, 1\]"),
        ("label,tl,tr,bl,br\nsolid,0,0,nan,0\n", r"line 2: bl = nan is outside"),
        ("label,tl,tr,bl,br\nsolid,0,0\n", r"line 2: 3 fields, too few"),
        ("label,tl,tr,bl\nsolid,0,0,0\n", r"line 1: header lacks column\(s\) br"),
        ("", r"empty file"),
        ("label,tl,tr,bl,br\n", r"no samples after the header"),
    ],
    ids=["label", "number", "range", "nan", "short-row", "header", "empty", "no-rows"],
)
def test_bad_recordings_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RecordingError, match=message) as info:
        load_recordings([path])
    assert str(info.value).startswith(str(path))


def test_missing_recording_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such recording file"):
        load_recordings([tmp_path / "absent.csv"])
