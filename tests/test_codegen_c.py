"""Generated C against the integer emulator, bit for bit: host gcc and avr-gcc in simavr."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pixelnet.bench.bench_codegen import DRIVER
from pixelnet.codegen import emulator, generate, quantize
from pixelnet.codegen.quantize import QuantizedModel
from pixelnet.codegen.render import render
from pixelnet.codegen.toolchain import avr_size, compile_avr, compile_host
from pixelnet.firmware.virtual import run_elf_batch
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model
from pixelnet.trainer.train import train_default

FORMATS = ("q7", "q15", "16x8")
ACTIVATIONS = ("tanh", "logistic", "relu", "identity")


# ---- driving the test program (bench/avr/driver.c) ----


def act_dtype(qm: QuantizedModel) -> str:
    return "<i1" if qm.format_bits == 7 else "<i2"


def records(tag: str, payload: np.ndarray) -> bytes:
    """One record per row: the tag byte then the row's bytes."""
    rows = payload.view(np.uint8).reshape(len(payload), -1)
    tags = np.full((len(rows), 1), ord(tag), dtype=np.uint8)
    return np.hstack([tags, rows]).tobytes()


def calib_record(dark: np.ndarray, bright: np.ndarray) -> bytes:
    return b"C" + np.concatenate([dark, bright]).astype("<u2").tobytes()


def split_replies(qm: QuantizedModel, data: bytes, n: int, widths: list[int]) -> list[np.ndarray]:
    """Cut n replies of [widths... acts] + class byte into arrays."""
    size = np.dtype(act_dtype(qm)).itemsize
    per = sum(widths) * size + 1
    assert len(data) == n * per, f"expected {n * per} reply bytes, got {len(data)}"
    raw = np.frombuffer(data, dtype=np.uint8).reshape(n, per)
    parts, start = [], 0
    for w in widths:
        chunk = np.ascontiguousarray(raw[:, start : start + w * size])
        parts.append(chunk.view(act_dtype(qm)).astype(np.int64).reshape(n, w))
        start += w * size
    parts.append(raw[:, -1].astype(np.int64))
    return parts


def build_host(qm: QuantizedModel, tmp: Path, optimize: str = "size") -> Path:
    src = tmp / f"src_{qm.fmt}_{optimize}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(qm, "c", optimize=optimize).items():
        (src / name).write_text(text)
    return compile_host([DRIVER, src / "pixelnet_model.c"], [src], src / "driver")


def run_host(exe: Path, stdin: bytes) -> bytes:
    import subprocess

    done = subprocess.run([str(exe)], input=stdin, capture_output=True, check=True)
    return done.stdout


def check_x_and_trace(exe: Path, qm: QuantizedModel, x: np.ndarray) -> None:
    """'X' (infer) and 'T' (infer_trace) replies equal the emulator for inputs x."""
    x = x.astype(act_dtype(qm))
    reply = run_host(exe, records("X", x) + records("T", x))
    n = len(x)
    size = np.dtype(act_dtype(qm)).itemsize
    cut = n * (qm.n_outputs * size + 1)
    out, cls = split_replies(qm, reply[:cut], n, [qm.n_outputs])
    trace, tcls = split_replies(qm, reply[cut:], n, [qm.trace_len])
    expected = emulator.infer_trace(qm, x)
    np.testing.assert_array_equal(out, expected[-1])
    np.testing.assert_array_equal(cls, emulator.classify(expected[-1]))
    np.testing.assert_array_equal(trace, np.hstack(expected))
    np.testing.assert_array_equal(tcls, cls)


def grid_inputs(qm: QuantizedModel) -> np.ndarray:
    """Every combination of 9 grey levels per pixel (6,561 inputs), ends included."""
    levels = emulator.quantize_inputs(qm, np.linspace(-1.0, 1.0, 9))
    mesh = np.meshgrid(*[levels] * 4, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def random_model(rng: np.random.Generator) -> Model:
    depth = int(rng.integers(1, 5))
    sizes = [4, *rng.integers(1, 17, size=depth - 1).tolist(), int(rng.integers(2, 9))]
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        scale = 10.0 ** rng.uniform(-2, 2)
        w = rng.normal(0, scale, size=(n_in, n_out))
        b = rng.normal(0, scale, size=n_out) if rng.random() < 0.6 else None
        layers.append(Layer(w, b, str(rng.choice(ACTIVATIONS))))
    return Model(tuple(layers), tuple(f"c{i}" for i in range(sizes[-1])))


@pytest.fixture(scope="module")
def default_model() -> Model:
    return train_default()


# ---- host C ----


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_lesson_and_default_nets_match_the_emulator_on_the_grey_grid(
    tmp_path: Path, default_model: Model, fmt: str, optimize: str
) -> None:
    for i, model in enumerate((lesson_model(), default_model)):
        qm = quantize(model, fmt)
        exe = build_host(qm, tmp_path / str(i), optimize)
        check_x_and_trace(exe, qm, grid_inputs(qm))


@pytest.mark.parametrize("fmt", FORMATS)
def test_preprocessing_and_inference_match_on_random_adc_and_calibrations(
    tmp_path: Path, default_model: Model, fmt: str
) -> None:
    rng = np.random.default_rng(7)
    qm = quantize(default_model, fmt)
    exe = build_host(qm, tmp_path)
    chunks, expected_x = [], []
    n_cal, per_cal = 40, 2_500  # 100,000 vectors in all
    for _ in range(n_cal):
        dark = rng.integers(0, 500, size=4)
        bright = np.minimum(dark + rng.integers(16, 1024, size=4), 1023)
        adc = rng.integers(0, 1024, size=(per_cal, 4))
        chunks.append(calib_record(dark, bright) + records("R", adc.astype("<u2")))
        expected_x.append(emulator.preprocess(qm, adc, dark, bright))
    reply = run_host(exe, b"".join(chunks))
    n = n_cal * per_cal
    x, out, cls = split_replies(qm, reply, n, [4, qm.n_outputs])
    want_x = np.vstack(expected_x)
    np.testing.assert_array_equal(x, want_x)
    want_out = emulator.infer(qm, want_x)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(cls, emulator.classify(want_out))


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_models_never_overflow_and_match_the_emulator(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(11 if fmt == "q7" else 12)
    for i in range(12):
        model = random_model(rng)
        qm = quantize(model, fmt)
        exe = build_host(qm, tmp_path / str(i), "speed" if i % 2 else "size")
        bound = qm.format.act_max
        extremes = np.array([[-bound] * 4, [bound] * 4, [bound, -bound, bound, -bound]])
        x = np.vstack([extremes, rng.integers(-bound, bound + 1, size=(3_000, 4))])
        check_x_and_trace(exe, qm, x)


def test_generated_c_builds_with_any_valid_prefix(tmp_path: Path) -> None:
    paths = generate(lesson_model(), "arduino", "q7", tmp_path, prefix="cam2")
    assert sorted(p.name for p in paths) == ["cam2_model.c", "cam2_model.h"]
    main = tmp_path / "main.c"
    main.write_text(
        '#include "cam2_model.h"\n'
        "int main(void) { cam2_act_t x[4] = {127, 127, 127, 127}, out[CAM2_N_OUTPUTS];\n"
        "  return cam2_infer(x, out); }\n"
    )
    exe = compile_host([main, tmp_path / "cam2_model.c"], [tmp_path], tmp_path / "main")
    import subprocess

    assert subprocess.run([str(exe)]).returncode == 0  # solid white is class 0


# ---- AVR: avr-gcc, then simavr ----


def build_avr(qm: QuantizedModel, tmp: Path, defines: tuple[str, ...] = (),
              optimize: str = "size") -> Path:
    src = tmp / f"avr_{qm.fmt}_{optimize}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(qm, "arduino", optimize=optimize).items():
        (src / name).write_text(text)
    return compile_avr([DRIVER, src / "pixelnet_model.c"], [src], src / "driver.elf", defines)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_avr_build_in_simavr_matches_the_emulator(
    tmp_path: Path, default_model: Model, fmt: str, optimize: str
) -> None:
    rng = np.random.default_rng(3)
    qm = quantize(default_model, fmt)
    elf = build_avr(qm, tmp_path, optimize=optimize)
    dark = np.array([12, 30, 0, 100])
    bright = np.array([1000, 900, 1023, 700])
    adc = rng.integers(0, 1024, size=(1_000, 4))
    x = rng.integers(-qm.format.act_max, qm.format.act_max + 1, size=(200, 4))
    stdin = (calib_record(dark, bright) + records("R", adc.astype("<u2"))
             + records("T", x.astype(act_dtype(qm))) + b"Q")
    result = run_elf_batch(elf, stdin, build_dir=tmp_path / "sim")
    size = np.dtype(act_dtype(qm)).itemsize
    cut = len(adc) * ((4 + qm.n_outputs) * size + 1)
    got_x, out, cls = split_replies(qm, result.stdout[:cut], len(adc), [4, qm.n_outputs])
    want_x = emulator.preprocess(qm, adc, dark, bright)
    np.testing.assert_array_equal(got_x, want_x)
    np.testing.assert_array_equal(out, emulator.infer(qm, want_x))
    np.testing.assert_array_equal(cls, emulator.classify(out))
    trace, _ = split_replies(qm, result.stdout[cut:], len(x), [qm.trace_len])
    np.testing.assert_array_equal(trace, np.hstack(emulator.infer_trace(qm, x)))
    assert len(result.regions) == len(adc)


def test_random_models_in_simavr_match_the_emulator(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for i in range(6):
        qm = quantize(random_model(rng), FORMATS[i % len(FORMATS)])
        elf = build_avr(qm, tmp_path / str(i), optimize=("size", "speed")[i // 2 % 2])
        x = rng.integers(-qm.format.act_max, qm.format.act_max + 1, size=(100, 4))
        result = run_elf_batch(elf, records("T", x.astype(act_dtype(qm))) + b"Q",
                               build_dir=tmp_path / "sim")
        trace, _ = split_replies(qm, result.stdout, len(x), [qm.trace_len])
        np.testing.assert_array_equal(trace, np.hstack(emulator.infer_trace(qm, x)))


def test_random_models_in_the_default_avr_build_match_through_infer_and_trace(
    tmp_path: Path,
) -> None:
    """The size build's assembly (q7 dot products with pinned inputs, the shared q15 and 16x8
    loop) must find its registers and compute the emulator's integers for any shape."""
    rng = np.random.default_rng(17)
    for i in range(12):
        qm = quantize(random_model(rng), FORMATS[i % len(FORMATS)])
        elf = build_avr(qm, tmp_path / str(i))
        x = rng.integers(-qm.format.act_max, qm.format.act_max + 1, size=(60, 4))
        x = x.astype(act_dtype(qm))
        result = run_elf_batch(elf, records("X", x) + records("T", x) + b"Q",
                               build_dir=tmp_path / "sim")
        cut = len(x) * (qm.n_outputs * x.itemsize + 1)
        out, cls = split_replies(qm, result.stdout[:cut], len(x), [qm.n_outputs])
        trace, _ = split_replies(qm, result.stdout[cut:], len(x), [qm.trace_len])
        expected = emulator.infer_trace(qm, x)
        np.testing.assert_array_equal(out, expected[-1])
        np.testing.assert_array_equal(cls, emulator.classify(expected[-1]))
        np.testing.assert_array_equal(trace, np.hstack(expected))


def test_avr_program_without_the_model_is_smaller(tmp_path: Path) -> None:
    qm = quantize(lesson_model(), "q7")
    with_model = avr_size(build_avr(qm, tmp_path / "with", ("INFER_ONLY",)))
    without = avr_size(build_avr(qm, tmp_path / "without", ("BASELINE",)))
    assert with_model[0] > without[0]
