"""Models at the edges of what `generate` accepts: each once broke the generated code or
the report, and must keep compiling, matching the emulator and saying what it means."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from random_models import Entry, batch_bytes, draw_model, make_entry, mismatches, write_batch
from test_codegen_c import act_dtype, records, split_replies
from test_codegen_micropython import micropython

from pixelnet.bench.bench_codegen import DRIVER
from pixelnet.cli import main
from pixelnet.codegen import emulator, quantize
from pixelnet.codegen.bound import error_bound
from pixelnet.codegen.quantize import QuantizeError
from pixelnet.codegen.render import render
from pixelnet.codegen.report import analyse, dense_grid, fidelity, render_report, search
from pixelnet.codegen.toolchain import (
    AVR_NO_MUL_MCU,
    UBSAN_FLAGS,
    compile_avr,
    compile_host,
    run_pipe_sim,
)
from pixelnet.errors import PixelnetError
from pixelnet.firmware.virtual import run_elf_batch
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model, load_model, save_model
from pixelnet.trainer.train import train_default

EYE = np.eye(4)
HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], float)


def steep_direct_tanh() -> Model:
    """A tanh read through the exact small-accumulator table at a negative scale."""
    return Model((Layer(256 * EYE, None, "tanh"), Layer(EYE, None, "identity")))


def shared_activation_after_a_loop() -> Model:
    """q15 size: an unrolled ternary layer shares the activation of an earlier loop layer."""
    return Model((Layer(3 * EYE, None, "tanh"), Layer(HADAMARD, None, "tanh"),
                  Layer(EYE, None, "identity")))


def position_shift_of_16() -> Model:
    """q7 logistic of tiny weights: a 16-bit accumulator whose table position is
    (|acc| + 2^15) >> 16, which is 0 for every 16-bit magnitude."""
    w = np.full((4, 4), 1e-4)
    w[0, 0] = -7e-5
    return Model((Layer(w, None, "logistic"), Layer(EYE, None, "identity")))


def tables_at_rising_scales() -> Model:
    """Two tanh and two logistic layers, each pair at two scales: in 16x8 the later layer
    of each pair owns the one table activation (a larger shift), the earlier calls it
    through a forward declaration with its accumulator scaled up."""
    mix = HADAMARD * np.array([0.9, -0.55, 0.7, 0.35])
    return Model((Layer(2.9 * mix, np.array([0.3, -0.2, 0.1, 0.05]), "tanh"),
                  Layer(0.37 * mix, np.array([0.02, 0.01, -0.03, 0.0]), "tanh"),
                  Layer(1.3 * mix, None, "logistic"), Layer(0.21 * mix, None, "logistic"),
                  Layer(mix, None, "identity")))


@pytest.fixture(scope="module")
def default_model() -> Model:
    return train_default()


def _entries(models: list[Model], rng: np.random.Generator) -> list[Entry]:
    return [make_entry(quantize(m, fmt), opt, rng, 300)
            for m in models for fmt in ("q7", "q15", "16x8") for opt in ("size", "speed")]


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_edge_lesson_and_default_models_compile_strictly_and_match(
    tmp_path: Path, default_model: Model, compiler: str
) -> None:
    """-std=c99 -Wall -Wextra -Werror -pedantic and UBSan, every format and optimisation."""
    models = [steep_direct_tanh(), shared_activation_after_a_loop(), position_shift_of_16(),
              lesson_model(), default_model, tables_at_rising_scales()]
    entries = _entries(models, np.random.default_rng(1))
    sources = write_batch(entries, tmp_path, "c")
    exe = compile_host(sources, [tmp_path], tmp_path / "batch", compiler=compiler,
                       extra_flags=UBSAN_FLAGS)
    stdin, expected = batch_bytes(entries)
    done = subprocess.run([str(exe)], input=stdin, capture_output=True)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()
    assert mismatches(entries, expected, done.stdout) == []


def test_edge_models_run_in_micropython(tmp_path: Path) -> None:
    entries = _entries([steep_direct_tanh(), shared_activation_after_a_loop(),
                        position_shift_of_16()], np.random.default_rng(2))
    for k, e in enumerate(entries):
        for name, text in render(e.qm, "micropython", prefix=f"m{k}",
                                 optimize=e.optimize).items():
            (tmp_path / name).write_text(text)
    runner = Path(__file__).resolve().parent / "targets" / "batch_runner.py"
    stdin, expected = batch_bytes(entries)
    done = subprocess.run([micropython(), str(runner), str(tmp_path), str(len(entries))],
                          input=stdin, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert mismatches(entries, expected, done.stdout) == []


def test_negative_scales_make_valid_names_and_readable_reports() -> None:
    model = steep_direct_tanh()
    qm = quantize(model, "q7")
    assert qm.layers[0].direct and qm.layers[0].acc_frac < 0
    c = render(qm, "c")["pixelnet_model.c"]
    py = render(qm, "micropython")["pixelnet_model.py"]
    assert "pixelnet_tanh_fm1[" in c and "_TANH_FM1 = (" in py
    report = render_report(model, qm)
    assert "--" not in report and "weights 2^8, accumulator int8 at 2^1" in report


def test_a_coarse_output_scale_reads_plainly_in_the_arduino_library(tmp_path: Path) -> None:
    """Outputs in units of 2^3 (out_frac -3): the header says so, and its macro is one
    value wherever a sketch writes it (``-PREFIX_OUTPUT_FRAC`` is no decrement)."""
    qm = quantize(Model((Layer(1000 * EYE, None, "identity"),)), "q7")
    assert qm.layers[-1].out_frac == -3
    for name, text in render(qm, "arduino-library").items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    header = (tmp_path / "src" / "pixelnet.h").read_text()
    assert "units of 2^3:" in header and "2^-" not in header
    sketch = tmp_path / "uses_scale.c"
    sketch.write_text('#include "pixelnet.h"\n'
                      "int output_shift(void) { return -PIXELNET_OUTPUT_FRAC; }\n")
    compile_host([sketch], [tmp_path / "src"], tmp_path / "uses_scale.o", extra_flags=("-c",))


def test_a_position_shift_of_16_is_tested_where_it_occurs() -> None:
    q = quantize(position_shift_of_16(), "q7").layers[0]
    assert (q.shift, q.acc_bits, q.direct) == (16, 16, False)


def test_the_shared_activation_is_defined_before_its_calls() -> None:
    c = render(quantize(shared_activation_after_a_loop(), "q15"), "c")["pixelnet_model.c"]
    for name in ("pixelnet_act0", "pixelnet_act1", "pixelnet_act2"):
        if f"{name}(" in c:
            assert c.index(f" {name}(int32_t acc)") < c.index(f"= {name}(")


def test_calibrations_of_every_kind_match_in_c_and_micropython(tmp_path: Path) -> None:
    """dark == bright (no SIGFPE, no ZeroDivisionError: grey), dark > bright (the same
    sign everywhere), and the whole uint16 range."""
    rng = np.random.default_rng(3)
    entries = []
    for fmt in ("q7", "q15", "16x8"):
        e = make_entry(quantize(lesson_model(), fmt), "size", rng, 8)
        cal = rng.integers(0, 65536, size=(600, 12))
        cal[:200, 4:8] = cal[:200, :4]
        cal[200:400, :4], cal[200:400, 4:8] = (np.maximum(cal[200:400, :4], cal[200:400, 4:8]),
                                               np.minimum(cal[200:400, :4], cal[200:400, 4:8]))
        entries.append(Entry(e.qm, "size", e.x, cal))
    x_equal = emulator.preprocess(entries[0].qm, cal[:1, 8:], cal[0, :4], cal[0, :4])
    assert np.all(x_equal == 0)
    stdin, expected = batch_bytes(entries)
    sources = write_batch(entries, tmp_path / "c", "c")
    exe = compile_host(sources, [tmp_path / "c"], tmp_path / "c" / "b", extra_flags=UBSAN_FLAGS)
    done = subprocess.run([str(exe)], input=stdin, capture_output=True)
    assert done.returncode == 0 and mismatches(entries, expected, done.stdout) == []
    for k, e in enumerate(entries):
        for name, text in render(e.qm, "micropython", prefix=f"m{k}").items():
            (tmp_path / name).write_text(text)
    runner = Path(__file__).resolve().parent / "targets" / "batch_runner.py"
    done = subprocess.run([micropython(), str(runner), str(tmp_path), str(len(entries))],
                          input=stdin, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert mismatches(entries, expected, done.stdout) == []


@pytest.mark.parametrize("fmt", ["q7", "q15", "16x8"])
def test_attiny85_without_a_multiplier_runs_the_bench_driver_bit_exact(
    tmp_path: Path, default_model: Model, fmt: str
) -> None:
    """avr25 has no mul: the generated C takes its plain path, the tables stay in flash."""
    for i, model in enumerate((lesson_model(), default_model)):
        qm = quantize(model, fmt)
        src = tmp_path / str(i)
        src.mkdir()
        for name, text in render(qm, "arduino").items():
            (src / name).write_text(text)
        # avr-as refuses mul, muls and mulsu for avr25: building is the first check
        elf = compile_avr([DRIVER, src / "pixelnet_model.c"], [src], src / "d.elf",
                          mcu=AVR_NO_MUL_MCU)
        x = np.random.default_rng(4).integers(-qm.format.act_max, qm.format.act_max + 1,
                                              size=(40, 4)).astype(act_dtype(qm))
        run = run_pipe_sim(elf, records("T", x) + b"Q", tmp_path)
        trace, _ = split_replies(qm, run.stdout, len(x), [qm.trace_len])
        np.testing.assert_array_equal(trace, np.hstack(emulator.infer_trace(qm, x)))


AVR_ARCHITECTURES = {  # one core of each avr-gcc architecture: with and without mul, lpm Z+
    "at90s8515": "avr2", "attiny85": "avr25", "at43usb355": "avr3", "atmega103": "avr31",
    "attiny167": "avr35", "atmega8": "avr4", "atmega328p": "avr5", "atmega1284p": "avr51",
    "atmega2560": "avr6", "atxmega32a4": "avrxmega2", "atxmega64a3": "avrxmega4",
    "atxmega64a1": "avrxmega5", "atxmega128a3": "avrxmega6", "atxmega128a1": "avrxmega7",
    "attiny10": "avrtiny",
}


def test_arduino_c_compiles_strictly_for_every_avr_architecture(tmp_path: Path) -> None:
    """ISO C99 with -pedantic on every core family: the inline assembly only where its
    instructions exist, no assembler error anywhere (all the models in one unit)."""
    entries = _entries([steep_direct_tanh(), shared_activation_after_a_loop(),
                        position_shift_of_16(), lesson_model()], np.random.default_rng(6))
    write_batch(entries, tmp_path, "arduino")
    unit = tmp_path / "all_models.c"
    unit.write_text("".join(f'#include "m{k}_model.c"\n' for k in range(len(entries))))
    for mcu, arch in AVR_ARCHITECTURES.items():
        obj = compile_avr([unit], [tmp_path], tmp_path / f"{mcu}.o", mcu=mcu,
                          extra_flags=("-std=c99", "-pedantic", "-c"))
        assert obj.stat().st_size > 0, arch


def test_table_activations_at_several_scales_share_one_copy_bit_exact_on_avr(
    tmp_path: Path,
) -> None:
    qm = quantize(tables_at_rising_scales(), "16x8")
    files = render(qm, "arduino")
    c = files["pixelnet_model.c"]
    assert c.count("((int32_t)(acc * ") == 2  # layers 0 and 2 call the copies of 1 and 3
    assert "static pixelnet_act_t pixelnet_act1(int32_t acc);" in c
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    elf = compile_avr([DRIVER, tmp_path / "pixelnet_model.c"], [tmp_path], tmp_path / "d.elf")
    x = np.random.default_rng(8).integers(-32767, 32768, size=(300, 4)).astype(act_dtype(qm))
    run = run_elf_batch(elf, records("T", x) + b"Q", build_dir=tmp_path / "sim")
    trace, _ = split_replies(qm, run.stdout, len(x), [qm.trace_len])
    np.testing.assert_array_equal(trace, np.hstack(emulator.infer_trace(qm, x)))


def test_the_proven_bound_holds_where_the_search_looks() -> None:
    """On random models (saturating ones included) no error found exceeds the bound."""
    rng = np.random.default_rng(5)
    checked = 0
    while checked < 8:
        model = draw_model(rng)
        for fmt in ("q7", "q15", "16x8"):
            try:
                qm = quantize(model, fmt)
            except QuantizeError:
                continue
            found, _ = search(model, qm, seed=checked)
            bound = error_bound(model, qm)
            assert np.all(np.asarray(found.max_abs_error) <= bound), (model, fmt)
            checked += 1


def test_a_step_between_grid_points_is_found_and_bounded() -> None:
    """tanh(1000 x - 30) switches between two grid points: the grid alone sees an error of
    one LSB, the search finds the step, and the proven bound covers it."""
    w = np.zeros((4, 1))
    w[0, 0] = 1000.0
    model = Model((Layer(w, np.array([-30.0]), "tanh"),
                   Layer(np.array([[100.0]]), None, "identity")), ("a",))
    qm = quantize(model, "q7")
    grid = fidelity(model, qm, dense_grid()).max_abs_error[0]
    a = analyse(model, qm)
    assert grid <= 1.0 and a.found.max_abs_error[0] > 100 * grid
    assert a.found.max_abs_error[0] <= a.bound[0] <= 200.0
    report = render_report(model, qm, analysis=a)
    assert "proven bound, every input in [-1, 1]^4: a 199" in report


def _poor_model() -> Model:
    """Two outputs 100 apart from nothing: below one output LSB they tie in the integers."""
    w = np.c_[np.zeros(4), [1e-3, -1e-3, 1e-3, -1e-3]]
    return Model((Layer(w, np.array([100.0, 100.0]), "identity"),), ("a", "b"))


def test_a_poor_model_is_warned_about_and_thresholds_fail_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_model(_poor_model(), tmp_path / "poor.json")
    base = ["generate", "--model", str(path), "--target", "c", "--out-dir", str(tmp_path / "gen")]
    assert main(base) == 0
    err = capsys.readouterr().err
    assert "WARNING: the integer model picks another class" in err
    assert main([*base, "--min-agreement", "100"]) == 1
    assert "FAIL: clean-pattern agreement" in capsys.readouterr().err
    assert main([*base, "--max-error", "1e-6"]) == 1
    assert "exceeds --max-error" in capsys.readouterr().err
    assert main(["generate", "--lesson", "--target", "c", "--out-dir", str(tmp_path / "l"),
                 "--min-agreement", "100", "--max-error", "0.1"]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_refusals_name_the_layer_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = Model((Layer(EYE, np.full(4, 1e300), "identity"),))
    path = save_model(model, tmp_path / "huge.json")
    assert main(["generate", "--model", str(path), "--target", "c",
                 "--out-dir", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "layer 0 (identity): weights or biases too large" in err
    assert "**" not in err and "--" not in err


def test_a_zero_unit_layer_is_named_in_the_model_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    doc = json.loads(save_model(lesson_model(), path).read_text())
    doc["layers"][1]["weights"] = [[], [], [], []]
    doc["layers"][2]["weights"] = []
    path.write_text(json.dumps(doc))
    with pytest.raises(PixelnetError, match="layer 1 weights: empty"):
        load_model(path)
