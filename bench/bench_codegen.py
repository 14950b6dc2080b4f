"""Benchmark of the code generator: cycles, bytes and fidelity, side by side with emlearn.

Cycles come from simavr (GPIOR0-marked regions around each inference) and bytes
from avr-size: both deterministic. Flash and RAM of "model + inference" are the
difference between the test program calling the model and the same program
without it (bench/avr/driver.c, built with the same avr-gcc flags for both
pixelnet and emlearn's float C).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.codegen import emulator, quantize
from pixelnet.codegen.render import render
from pixelnet.codegen.toolchain import avr_size, compile_avr
from pixelnet.firmware.virtual import run_elf_batch
from pixelnet.firmware.virtual_micropython import find_micropython
from pixelnet.trainer.data import noisy_test_set
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model
from pixelnet.trainer.network import softmax
from pixelnet.trainer.patterns import clean_patterns
from pixelnet.trainer.train import train_default

DRIVER = Path(__file__).resolve().parent / "avr" / "driver.c"  # also used by the tests
TARGETS = {"q7_cycles": 1_500, "q15_cycles": 4_000, "lesson_cycles": 400,
           "flash_bytes": 1_024, "ram_bytes": 64}
RANDOM_INPUTS = 10_000
MP_INFERENCES = 5_000  # per timed run, quick or full, so the two agree


def _vectors(n: int, act_max: int, itemsize: int) -> bytes:
    rng = np.random.default_rng(1)
    x = rng.integers(-act_max, act_max + 1, size=(n, 4)).astype(f"<i{itemsize}")
    rows = x.view(np.uint8).reshape(n, -1)
    return np.hstack([np.full((n, 1), ord("X"), np.uint8), rows]).tobytes() + b"Q"


def cycle_floor(qm: quantize.QuantizedModel) -> int:
    """Cycles no inference of ``qm`` can take fewer of: one instruction per non-zero weight
    and one per neuron. A marked region shorter than this measured something else."""
    return sum(int(np.count_nonzero(layer.weights)) + layer.weights.shape[1] for layer in qm.layers)


def _measure(elf: Path, base: Path, n: int, act_max: int, itemsize: int, build: Path) -> dict:
    result = run_elf_batch(elf, _vectors(n, act_max, itemsize), build_dir=build)
    flash, ram = avr_size(elf)
    base_flash, base_ram = avr_size(base)
    return {
        "cycles_max": max(result.regions),
        "cycles_mean": round(float(np.mean(result.regions)), 1),
        "flash_bytes": flash - base_flash,
        "ram_bytes": ram - base_ram,
        "stack_peak_bytes": result.stack_peak,
    }


def measure_avr(model: Model, fmt: str, build: Path, n: int, optimize: str = "size") -> dict:
    """Cycles and bytes of the generated C for ``model`` in ``fmt`` on the ATmega328P."""
    qm = quantize(model, fmt)
    src = build / f"{fmt}_{optimize}_{model.short_hash}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(qm, "arduino", optimize=optimize).items():
        (src / name).write_text(text)
    elf = compile_avr([DRIVER, src / "pixelnet_model.c"], [src], src / "m.elf", ["INFER_ONLY"])
    base = compile_avr([DRIVER], [src], src / "base.elf", ["BASELINE"])
    return _measure(elf, base, n, qm.format.act_max, 1 if fmt == "q7" else 2, build)


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _emlearn_header(model: Model, path: Path) -> None:
    """emlearn's C for the same weights (a scikit-learn MLP shell carrying them)."""
    import emlearn
    from sklearn.neural_network import MLPClassifier

    mlp = MLPClassifier(hidden_layer_sizes=[lay.n_out for lay in model.layers[:-1]],
                        activation="tanh")
    mlp.coefs_ = [lay.weights for lay in model.layers]
    mlp.intercepts_ = [lay.biases if lay.biases is not None else np.zeros(lay.n_out)
                       for lay in model.layers]
    mlp.n_layers_ = len(model.layers) + 1
    mlp.n_outputs_ = model.n_outputs
    mlp.out_activation_ = "softmax"
    mlp.classes_ = np.arange(model.n_outputs)
    with _working_directory(path.parent):  # emlearn compiles a helper program into ./tmp
        emlearn.convert(mlp).save(file=str(path), name="eml_model")
    # emlearn takes one hidden activation; put back each layer's own
    lines = path.read_text().splitlines()
    kinds = {"tanh": "Tanh", "relu": "Relu", "logistic": "Logistic", "identity": "Identity"}
    layer_lines = [i for i, line in enumerate(lines) if "EmlNetActivation" in line]
    for i, lay in zip(layer_lines[:-1], model.layers[:-1], strict=True):
        kind = kinds[lay.activation]
        lines[i] = lines[i].replace("EmlNetActivationTanh", f"EmlNetActivation{kind}")
    path.write_text("\n".join(lines) + "\n")


def _emlearn_elves(model: Model, build: Path) -> tuple[Path, Path]:
    """emlearn's float C for ``model`` in the driver, and the driver without a model."""
    import emlearn

    src = build / f"emlearn_{model.short_hash}"
    if not (src / "m.elf").exists():
        src.mkdir(parents=True, exist_ok=True)
        _emlearn_header(model, src / "eml_model.h")
        inc = [src, Path(emlearn.includedir)]
        lenient = ["-Wno-error"]  # emlearn's headers define unused helpers; same flags otherwise
        compile_avr([DRIVER], inc, src / "m.elf", ["EMLEARN"], lenient)
        compile_avr([DRIVER], inc, src / "base.elf", ["BASELINE"], lenient)
    return src / "m.elf", src / "base.elf"


def measure_emlearn(model: Model, build: Path, n: int) -> dict:
    elf, base = _emlearn_elves(model, build)
    return _measure(elf, base, n, 32767, 2, build)


def emlearn_fidelity(model: Model, build: Path, sets: dict[str, np.ndarray]) -> dict:
    """emlearn's float C, run on the ATmega328P in simavr, against the float model: argmax
    agreement, and max |error| of its probabilities against the model's softmax."""
    elf, _ = _emlearn_elves(model, build)
    report = {}
    for name, x in sets.items():
        xi = np.clip(np.round(x * 32768), -32767, 32767).astype("<i2")
        rows = np.hstack([np.full((len(x), 1), ord("X"), np.uint8), xi.view(np.uint8)])
        out = run_elf_batch(elf, rows.tobytes() + b"Q", build_dir=build).stdout
        replies = np.frombuffer(out, np.uint8).reshape(len(x), 2 * model.n_outputs + 1)
        proba = replies[:, :-1].copy().view("<i2") / 32767.0
        logits = model.forward(x)
        want = softmax(logits)
        report[name] = {
            "agreement": float(np.mean(replies[:, -1] == np.argmax(logits, axis=1))),
            "max_abs_error": float(np.max(np.abs(proba - want))),
        }
    return report


def fidelity_sets(quick: bool = False) -> dict[str, np.ndarray]:
    """The inputs fidelity is measured on; ``quick`` keeps a sample (for the slow peer)."""
    noisy_x, _ = noisy_test_set()
    random_x = np.random.default_rng(2).uniform(-1, 1, size=(RANDOM_INPUTS, 4))
    keep = 200 if quick else None
    return {"clean": clean_patterns()[0], "noisy": noisy_x[:keep], "random": random_x[:keep]}


def fidelity(model: Model, fmt: str) -> dict:
    """Float model vs integer emulator: argmax agreement and max |error| of the outputs.

    An input whose two best float outputs differ by less than one output LSB is a
    near-tie: no integer code of that resolution can tell its classes apart, so it
    is counted (``near_ties``) and left out of ``agreement``.
    """
    qm = quantize(model, fmt)
    lsb = float(np.min(emulator.dequantize_outputs(qm, np.ones((1, model.n_outputs), int))))
    report = {}
    for name, x in fidelity_sets().items():
        out = emulator.infer(qm, emulator.quantize_inputs(qm, x))
        want = model.forward(x)
        top2 = np.sort(want, axis=1)[:, -2:]
        resolvable = top2[:, 1] - top2[:, 0] >= lsb
        agree = emulator.classify(out) == np.argmax(want, axis=1)
        report[name] = {
            "agreement": float(np.mean(agree[resolvable])),
            "near_ties": int(np.count_nonzero(~resolvable)),
            "max_abs_error": float(np.max(np.abs(emulator.dequantize_outputs(qm, out) - want))),
        }
    return report


def emulator_rate(model: Model, fmt: str, n: int, repeats: int = 3) -> float:
    """Inferences per CPU-second of the NumPy emulator on batches of n inputs (best of
    ``repeats``: CPU time, because the machine is shared and wall time is noise)."""
    qm = quantize(model, fmt)
    x = np.random.default_rng(3).integers(-qm.format.act_max, qm.format.act_max + 1, (n, 4))
    emulator.infer(qm, x[:1000])  # builds the memoised activation tables
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        emulator.infer(qm, x)
        best = min(best, time.process_time() - start)
    return n / best


MP_TIMER = """
import sys, time
sys.path.insert(0, sys.argv[1])
import pixelnet_model as m
out = [0] * m.N_OUTPUTS
xs = [(i % 255 - 127, (i * 7) % 255 - 127, (i * 13) % 255 - 127, (i * 29) % 255 - 127)
      for i in range(int(sys.argv[2]))]
t = time.ticks_us()
for x in xs:
    m.infer(x, out)
print(len(xs) * 1000000 // max(1, time.ticks_diff(time.ticks_us(), t)))
"""


def _micropython_module(model: Model, fmt: str, optimize: str, build: Path) -> Path:
    """The generated module and the timing script, in a folder of their own."""
    src = build / f"mp_{fmt}_{optimize}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(quantize(model, fmt), "micropython", optimize=optimize).items():
        (src / name).write_text(text)
    (src / "timer.py").write_text(MP_TIMER)
    return src


def _micropython_once(src: Path, n: int) -> int:
    done = subprocess.run([find_micropython(), str(src / "timer.py"), str(src), str(n)],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def micropython_rates(model: Model, fmt: str, build: Path, repeats: int) -> dict[str, int]:
    """Inferences per second of the generated module on the MicroPython unix port, plain
    (size) and native (speed): the median of ``repeats`` alternating runs of each."""
    sources = {opt: _micropython_module(model, fmt, opt, build) for opt in ("size", "speed")}
    runs: dict[str, list[int]] = {opt: [] for opt in sources}
    for _ in range(repeats):
        for opt, src in sources.items():
            runs[opt].append(_micropython_once(src, MP_INFERENCES))
    return {opt: int(statistics.median(rates)) for opt, rates in runs.items()}


def run(quick: bool = False) -> dict[str, Any]:
    """Every measurement, JSON-able; ``quick`` uses fewer vectors (same cycle maxima)."""
    n = 200 if quick else 1_000
    nets = {"default": train_default(), "lesson": lesson_model()}
    result: dict[str, Any] = {"targets": TARGETS, "avr": {}, "fidelity": {}, "micropython": {}}
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-") as tmp:
        build = Path(tmp)
        for name, model in nets.items():
            result["avr"][name] = {
                f"{fmt}{suffix}": measure_avr(model, fmt, build, n, optimize)
                for fmt in ("q7", "q15")
                for suffix, optimize in (("", "size"), ("_speed", "speed"))
            }
            result["avr"][name]["emlearn"] = measure_emlearn(model, build, n)
            result["fidelity"][name] = {fmt: fidelity(model, fmt) for fmt in ("q7", "q15")}
            result["fidelity"][name]["emlearn"] = emlearn_fidelity(
                model, build, fidelity_sets(quick)
            )
        for fmt in ("q7", "q15"):
            result["micropython"][fmt] = micropython_rates(
                nets["default"], fmt, build, repeats=3 if quick else 7
            )
    result["emulator_inferences_per_s"] = {
        fmt: round(emulator_rate(nets["default"], fmt, 1_000_000)) for fmt in ("q7", "q15")
    }
    for name in nets:
        eml = result["avr"][name]["emlearn"]
        for key, ours in result["avr"][name].items():
            if key != "emlearn":
                ours["speedup_vs_emlearn"] = round(eml["cycles_mean"] / ours["cycles_mean"], 1)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
