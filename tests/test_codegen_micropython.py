"""The generated MicroPython module on the real unix port == the integer emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_codegen_c import grid_inputs, random_model

from pixelnet.codegen import emulator, quantize
from pixelnet.codegen.render import render
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model
from pixelnet.trainer.train import train_default

RUNNER = """
import sys
sys.path.insert(0, sys.argv[1])
import pixelnet_model as m
trace = [0] * m.TRACE_LEN
with open(sys.argv[2]) as f:
    for line in f:
        v = [int(s) for s in line.split()]
        if len(v) == 8:
            cal = m.calib_init(v[:4], v[4:])
            continue
        if len(v) == 5:
            x = [0, 0, 0, 0]
            m.preprocess(cal, v[1:], x)
            print(" ".join(str(a) for a in x))
            continue
        cls = m.infer_trace(v, trace)
        out = [0] * m.N_OUTPUTS
        assert m.infer(v, out) == cls
        print(" ".join(str(a) for a in trace), cls)
"""


def micropython() -> str:
    beside = Path(sys.executable).parent / "micropython"
    return str(beside) if beside.exists() else "micropython"


def run_module(qm, tmp: Path, optimize: str, lines: list[str]) -> list[list[int]]:
    src = tmp / f"mp_{qm.fmt}_{optimize}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(qm, "micropython", optimize=optimize).items():
        (src / name).write_text(text)
    (src / "runner.py").write_text(RUNNER)
    (src / "vectors.txt").write_text("\n".join(lines) + "\n")
    command = [micropython(), str(src / "runner.py"), str(src), str(src / "vectors.txt")]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return [[int(v) for v in line.split()] for line in done.stdout.splitlines()]


def check_inference(qm, tmp: Path, optimize: str, x: np.ndarray) -> None:
    got = np.array(run_module(qm, tmp, optimize, [" ".join(map(str, row)) for row in x]))
    expected = emulator.infer_trace(qm, x)
    np.testing.assert_array_equal(got[:, :-1], np.hstack(expected))
    np.testing.assert_array_equal(got[:, -1], emulator.classify(expected[-1]))


@pytest.fixture(scope="module")
def default_model() -> Model:
    return train_default()


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
@pytest.mark.parametrize("optimize", ["size", "speed", "viper"])  # plain, native, viper
def test_module_matches_the_emulator_on_the_grey_grid(
    tmp_path: Path, default_model: Model, fmt: str, optimize: str
) -> None:
    for i, model in enumerate((default_model, lesson_model())):
        qm = quantize(model, fmt)
        check_inference(qm, tmp_path / str(i), optimize, grid_inputs(qm))


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_preprocessing_matches_under_random_calibrations(
    tmp_path: Path, default_model: Model, fmt: str
) -> None:
    rng = np.random.default_rng(21)
    qm = quantize(default_model, fmt)
    lines, expected = [], []
    for _ in range(20):
        dark = rng.integers(0, 500, size=4)
        bright = np.minimum(dark + rng.integers(16, 1024, size=4), 1023)
        adc = rng.integers(0, 1024, size=(250, 4))
        lines.append(" ".join(map(str, [*dark, *bright])))
        lines += ["0 " + " ".join(map(str, row)) for row in adc]
        expected.append(emulator.preprocess(qm, adc, dark, bright))
    got = np.array(run_module(qm, tmp_path, "size", lines))
    np.testing.assert_array_equal(got, np.vstack(expected))


def test_a_sample_of_random_models_matches(tmp_path: Path) -> None:
    rng = np.random.default_rng(31)
    for i in range(4):
        qm = quantize(random_model(rng), ("q7", "q15", "16x8")[i % 3])
        x = rng.integers(-qm.format.act_max, qm.format.act_max + 1, size=(300, 4))
        check_inference(qm, tmp_path / str(i), ("size", "speed", "viper")[i % 3], x)


@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_module_compiles_with_mpy_cross(
    tmp_path: Path, default_model: Model, optimize: str
) -> None:
    files = render(quantize(default_model, "q15"), "micropython", optimize=optimize)
    (name, text), = files.items()
    path = tmp_path / name
    path.write_text(text)
    beside = Path(sys.executable).parent / "mpy-cross"
    tool = str(beside) if beside.exists() else "mpy-cross"
    subprocess.run([tool, "-march=x64", str(path)], check=True)
    assert path.with_suffix(".mpy").stat().st_size > 0
    assert "import machine" not in text and "from machine" not in text
