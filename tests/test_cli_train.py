"""`pixelnet train` and `pixelnet show` through the real console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import load_model, save_model
from pixelnet.trainer.patterns import SCENES

PIXELNET = Path(sys.executable).parent / "pixelnet"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    assert PIXELNET.exists(), f"console script missing: {PIXELNET}"
    return subprocess.run([str(PIXELNET), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_train_writes_a_model_and_reports(tmp_path: Path) -> None:
    result = run("train", "--seed", "3", "--out", "out/model.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = load_model(tmp_path / "out" / "model.json")
    assert model.sizes == (4, 4, 4, 8, 4)
    assert model.training["seed"] == 3
    out = result.stdout
    assert "clean patterns: 100.0%" in out
    assert "noisy held-out:" in out and "of 2000" in out
    assert "confusion matrix" in out and "horizontal" in out
    assert f"model {model.short_hash} written to out/model.json" in out
    final = float(out.split("final loss: ")[1].split()[0])
    assert final == pytest.approx(model.training["loss"]["final"], abs=1e-6)


def test_train_plots_its_curves_and_keeps_them(tmp_path: Path) -> None:
    result = run("train", "--epochs", "6", "--patience", "0", "--out", "m.json",
                 "--plot", "curves.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "training curves drawn to curves.png" in result.stdout
    curves = load_model(tmp_path / "m.json").training["curves"]
    assert len(curves["loss"]) == len(curves["clean_accuracy"]) == len(curves["noisy_accuracy"])
    assert len(curves["loss"]) == 6 and all(0 <= a <= 1 for a in curves["noisy_accuracy"])
    assert curves["clean_accuracy"][-1] == 1.0  # the default network learns the patterns fast
    image = Image.open(tmp_path / "curves.png").convert("L")
    assert image.size == (900, 340)
    assert len(set(image.tobytes())) > 20  # lines, labels and legend, not a blank canvas


def test_train_on_recordings_with_the_lessons_options(tmp_path: Path) -> None:
    rows = [f"{scene},{','.join(str(0.9 * v) for v in image)}"
            for scene, image in SCENES.items()] * 20
    (tmp_path / "rec.csv").write_text("label,tl,tr,bl,br\n" + "\n".join(rows) + "\n")
    result = run("train", "--data", "rec.csv", "--no-generated", "--no-bias", "--optimizer",
                 "momentum", "--lr", "0.05", "--loss", "squared", "--epochs", "300",
                 "--out", "m.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = load_model(tmp_path / "m.json")
    assert all(layer.biases is None for layer in model.layers)
    assert model.training["data"] == ["recordings: 160 samples from rec.csv, 32 of them held out"]
    assert model.training["evaluation"]["clean_accuracy"] == 1.0


def test_show_prints_the_summary_and_draws_the_png(tmp_path: Path) -> None:
    save_model(lesson_model(), tmp_path / "lesson.json")
    result = run("show", "--model", "lesson.json", "--png", "pics/net.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "accuracy on the 8 clean patterns: 8/8 (100%)" in result.stdout
    with Image.open(tmp_path / "pics" / "net.png") as image:
        assert image.format == "PNG"


def test_show_lesson_needs_no_file(tmp_path: Path) -> None:
    result = run("show", "--lesson", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert lesson_model().hash in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "--model", "bad.json"],
         "pixelnet show: error: bad.json: invalid JSON at line 1 (truncated?)"),
        (["show"], "pixelnet show: error: give a model file with --model FILE, or --lesson"),
        (["train", "--activations", "tanh,tanh,sine", "--out", "m.json"],
         "pixelnet train: error: unknown activation 'sine'"),
        (["train", "--data", "rec.csv", "--out", "m.json"],
         "pixelnet train: error: rec.csv, line 2: unknown label 'stripes'"),
    ],
    ids=["malformed-model", "nothing-to-show", "bad-activation", "bad-recording"],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str],
                                              message: str) -> None:
    (tmp_path / "bad.json").write_text('{"format": "pixelnet-model", "vers')
    (tmp_path / "rec.csv").write_text("label,tl,tr,bl,br\nstripes,1,1,1,1\n")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    result = run("--debug", "show", "--model", "bad.json", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ModelFileError" in result.stderr
