"""Quantisation, the emulator's contract, fidelity, the generated files' stamps, the command."""

from __future__ import annotations

import numpy as np
import pytest
from test_codegen_c import random_model

from pixelnet import __version__
from pixelnet.cli import main
from pixelnet.codegen import emulator, generate, quantize
from pixelnet.codegen.emulator import TANH_MAX_ERROR, CalibrationError
from pixelnet.codegen.quantize import FORMATS, QuantizeError
from pixelnet.codegen.render import GenerateError, render, validate_prefix
from pixelnet.trainer.data import noisy_test_set
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model, load_model, save_model
from pixelnet.trainer.patterns import clean_patterns
from pixelnet.trainer.train import train_default


@pytest.fixture(scope="module")
def default_model() -> Model:
    return train_default()


def accumulators(qm, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's accumulator, recomputed in plain int64 from the emulator's trace."""
    inputs = [x, *emulator.infer_trace(qm, x)[:-1]]
    return [a @ q.weights + q.biases for a, q in zip(inputs, qm.layers, strict=True)]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("gain", [0.7, 3.0, 8.0, 300.0])  # table, table, direct, clamped
def test_tanh_and_logistic_stay_within_the_documented_error(fmt: str, gain: float) -> None:
    f = FORMATS[fmt]
    x = np.zeros((2 * f.act_max + 1, 4), dtype=np.int64)
    x[:, 0] = np.arange(-f.act_max, f.act_max + 1)
    for activation, reference, bound in (
        ("tanh", np.tanh, TANH_MAX_ERROR[fmt]),
        ("logistic", lambda z: 1 / (1 + np.exp(-z)), TANH_MAX_ERROR[fmt] / 2 + 1),
    ):
        layer = Layer(np.array([[gain], [0.0], [0.0], [0.0]]), None, activation)
        qm = quantize(Model((layer,), ("a",)), fmt)
        q = qm.layers[0]
        z = x[:, 0] * float(q.weights[0, 0]) * 2.0 ** -q.acc_frac
        err = np.abs(emulator.infer(qm, x)[:, 0] - reference(z) * (1 << f.bits))
        assert err.max() <= bound, (activation, err.max())


def test_quantize_is_a_function_of_the_model_file_alone(tmp_path, default_model: Model) -> None:
    path = save_model(default_model, tmp_path / "m.json")
    for fmt in FORMATS:
        a, b = quantize(default_model, fmt), quantize(load_model(path), fmt)
        assert a.model_hash == default_model.short_hash
        for qa, qb in zip(a.layers, b.layers, strict=True):
            np.testing.assert_array_equal(qa.weights, qb.weights)
            np.testing.assert_array_equal(qa.biases, qb.biases)
            assert (qa.shift, qa.out_frac, qa.acc_bits) == (qb.shift, qb.out_frac, qb.acc_bits)


def test_lesson_weights_become_adds_and_subtracts() -> None:
    for fmt in FORMATS:
        qm = quantize(lesson_model(), fmt)
        assert all(q.is_ternary and q.weight_frac == 0 for q in qm.layers)
    text = render(quantize(lesson_model(), "q7"), "c")["pixelnet_model.c"]
    assert "(int16_t)(x0 + x2)" in text and "_w0[" not in text


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_interval_bounds_hold_on_random_models(fmt: str) -> None:
    rng = np.random.default_rng(41)
    for _ in range(30):
        qm = quantize(random_model(rng), fmt)
        m = qm.format.act_max
        corners = np.array(np.meshgrid(*[[-m, m]] * 4)).reshape(4, -1).T
        x = np.vstack([corners, rng.integers(-m, m + 1, size=(2_000, 4))])
        for q, acc in zip(qm.layers, accumulators(qm, x), strict=True):
            assert np.abs(acc).max() <= q.acc_bound <= (1 << (q.acc_bits - 1)) - 1
        for q, a in zip(qm.layers, emulator.infer_trace(qm, x), strict=True):
            assert np.all(a >= q.out_lo[None, :]) and np.all(a <= q.out_hi[None, :])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_preprocessing_maps_dark_to_minus_one_and_bright_to_plus_one(fmt: str) -> None:
    qm = quantize(lesson_model(), fmt)
    dark, bright = np.array([0, 100, 200, 10]), np.array([1023, 900, 216, 1000])
    rng = np.random.default_rng(2)
    adc = np.vstack([dark, bright, rng.integers(0, 1024, size=(5_000, 4))])
    x = emulator.preprocess(qm, adc, dark, bright)
    want = 2 * (np.clip(adc, dark, bright) - dark) / (bright - dark) - 1
    assert np.abs(x - want * (1 << qm.format_bits)).max() <= 1.0
    assert list(x[0]) == [-qm.format.act_max] * 4 and list(x[1]) == [qm.format.act_max] * 4


def test_bad_inputs_get_clear_errors() -> None:
    qm = quantize(lesson_model(), "q7")
    with pytest.raises(CalibrationError, match="at least 16"):
        emulator.preprocess(qm, np.zeros((1, 4)), np.array([0, 0, 0, 0]), np.array([8, 99, 99, 99]))
    with pytest.raises(QuantizeError, match="unknown number format"):
        quantize(lesson_model(), "q3")
    for bad in ("int", "9lives", "a-b", "", "x" * 30, "while"):
        with pytest.raises(GenerateError):
            validate_prefix(bad)
    assert validate_prefix("cam_2") == "cam_2"


def test_every_generated_file_is_stamped() -> None:
    qm = quantize(lesson_model(), "q15")
    for target in ("c", "arduino", "micropython"):
        for text in render(qm, target).values():
            first = text.splitlines()[0]
            assert f"pixelnet {__version__}" in first
            assert qm.model_hash in first and "format q15" in first


def test_default_network_fidelity(default_model: Model) -> None:
    random_x = np.random.default_rng(2).uniform(-1, 1, size=(10_000, 4))
    clean_x, _ = clean_patterns()
    noisy_x, _ = noisy_test_set()
    for fmt, sets in (("q15", (random_x, clean_x, noisy_x)), ("q7", (clean_x, noisy_x))):
        qm = quantize(default_model, fmt)
        for x in sets:
            got = emulator.classify(emulator.infer(qm, emulator.quantize_inputs(qm, x)))
            assert np.mean(got == default_model.predict(x)) == 1.0, fmt


def test_lesson_network_fidelity_on_clean_and_noisy_patterns() -> None:
    model = lesson_model()
    clean_x, _ = clean_patterns()
    noisy_x, _ = noisy_test_set()
    for fmt in FORMATS:
        qm = quantize(model, fmt)
        for x in (clean_x, noisy_x):
            got = emulator.classify(emulator.infer(qm, emulator.quantize_inputs(qm, x)))
            assert np.mean(got == model.predict(x)) == 1.0, fmt


def test_generate_command_writes_files_and_prints_the_report(tmp_path, capsys) -> None:
    code = main(["generate", "--lesson", "--target", "micropython", "--format", "q15",
                 "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "pixelnet_model.py").exists()
    assert "layer 3:  8 -> 4  identity" in out and "class agreement" in out


def test_generate_command_rejects_a_bad_prefix(tmp_path, capsys) -> None:
    code = main(["generate", "--lesson", "--target", "c", "--prefix", "for", "--out-dir",
                 str(tmp_path)])
    assert code == 2
    assert "reserved word" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_fitted_scikit_learn_mlp_generates_code_that_predicts_like_it(tmp_path) -> None:
    from sklearn.neural_network import MLPClassifier

    from pixelnet.codegen.generate import as_model
    from pixelnet.trainer.data import training_set

    x, y = training_set()
    mlp = MLPClassifier((6,), activation="logistic", max_iter=400, random_state=0).fit(x, y)
    paths = generate(mlp, "c", "q15", tmp_path)
    assert [p.name for p in paths] == ["pixelnet_model.h", "pixelnet_model.c"]
    qm = quantize(as_model(mlp), "q15")
    noisy_x, _ = noisy_test_set()
    got = emulator.classify(emulator.infer(qm, emulator.quantize_inputs(qm, noisy_x)))
    assert np.mean(got == mlp.predict(noisy_x)) >= 0.999
