"""Record -> retrain: the recordings counted per class, the missing classes named, a part of
them held out and the model judged on it, and a model that fails them not written."""

from __future__ import annotations

import numpy as np
import pytest

from pixelnet.cli import main
from pixelnet.trainer.data import HOLD_OUT, MIN_HELD_OUT, hold_out
from pixelnet.trainer.model_file import load_model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class


def _recording(path, scenes: dict[str, int], *, mislabel: str | None = None, seed: int = 0):
    """Rows as `pixelnet record` writes them: a scene's pixels plus sensor noise."""
    rng = np.random.default_rng(seed)
    lines = ["label,tl,tr,bl,br"]
    for scene, n in scenes.items():
        label = mislabel or scene
        for pixels in np.clip(np.asarray(SCENES[scene]) + rng.normal(0, 0.05, (n, 4)), -1, 1):
            lines.append(label + "," + ",".join(f"{v:.4f}" for v in pixels))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_hold_out_takes_a_share_of_every_class_big_enough() -> None:
    y = np.array([0] * 50 + [1] * 10 + [2] * (MIN_HELD_OUT - 1))
    mask = hold_out(y, HOLD_OUT, seed=1)
    assert [int(mask[y == c].sum()) for c in range(3)] == [10, 2, 0]
    assert (mask == hold_out(y, HOLD_OUT, seed=1)).all()


def test_counts_missing_classes_and_held_out_accuracy(tmp_path, capsys) -> None:
    rec = _recording(tmp_path / "h.csv", {"horizontal_top": 100, "horizontal_bottom": 100})
    out = tmp_path / "m.json"
    assert main(["train", "--data", str(rec), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "recordings: 200 rows: solid 0, vertical 0, diagonal 0, horizontal 200" \
        in captured.out
    assert "held-out recordings: 100.00% of 40 (20% of each recorded class" in captured.out
    assert "no recordings of solid, vertical, diagonal" in captured.err
    report = load_model(out).training["recordings"]
    assert report["held_out"] == 40 and report["missing_classes"] == ["solid", "vertical",
                                                                      "diagonal"]


def test_recordings_alone_must_cover_every_class(tmp_path, capsys) -> None:
    rec = _recording(tmp_path / "h.csv", {"horizontal_top": 50})
    assert main(["train", "--data", str(rec), "--no-generated", "--out",
                 str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "the recordings have no solid, vertical, diagonal" in err
    assert "pixelnet record --label solid" in err
    assert not (tmp_path / "m.json").exists()


@pytest.fixture()
def contradictory(tmp_path):
    """Recordings of vertical scenes labelled horizontal, and of every scene correctly:
    the generated patterns teach the truth, so the model fails the mislabelled rows."""
    good = _recording(tmp_path / "good.csv", dict.fromkeys(SCENES, 30), seed=1)
    bad = _recording(tmp_path / "bad.csv", {"vertical_left": 150, "vertical_right": 150},
                     mislabel="horizontal", seed=2)
    return good, bad


def test_a_model_failing_its_recordings_is_not_written(tmp_path, capsys, contradictory) -> None:
    out = tmp_path / "m.json"
    code = main(["train", "--data", *map(str, contradictory), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAIL:" in captured.err and "below --min-accuracy 90%" in captured.err
    assert "not written" in captured.err and not out.exists()
    assert main(["train", "--data", *map(str, contradictory), "--out", str(out),
                 "--force"]) == 0
    assert "written anyway (--force)" in capsys.readouterr().err and out.exists()


def test_every_recorded_class_is_counted(tmp_path, capsys) -> None:
    rec = _recording(tmp_path / "all.csv", dict.fromkeys(SCENES, 20))
    assert main(["train", "--data", str(rec), "--no-generated",
                 "--out", str(tmp_path / "m.json")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines()
                if x.startswith("recordings:"))
    per_class = {c: 20 * sum(scene_class(s) == c for s in SCENES) for c in CLASSES}
    assert line == "recordings: 160 rows: " + ", ".join(f"{c} {n}" for c, n in
                                                        per_class.items())
