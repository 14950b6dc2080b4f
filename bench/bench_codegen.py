"""Benchmark of the code generator: cycles, bytes and fidelity, side by side with emlearn.

Cycles come from simavr (GPIOR0-marked regions around each inference) and bytes
from avr-size: both deterministic. The worst case is the maximum over a grid of
the input range, inputs aimed at each first-layer neuron's extremes and at least
10,000 random inputs (``cycle_inputs``). Flash and RAM of "model + inference" are
the difference between the test program calling the model and the same program
without it, with the same activation type (bench/avr/driver.c, built with the
same avr-gcc flags for both pixelnet and emlearn's float C). emlearn runs
exactly pixelnet's computation: the same weights and an identity output layer
(no softmax), on the same inputs.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.bench.cycle_floor import cycle_floor
from pixelnet.codegen import emulator, quantize
from pixelnet.codegen.bound import error_bound
from pixelnet.codegen.render import render
from pixelnet.codegen.toolchain import (
    AVR_MCU,
    AVR_NO_MUL_MCU,
    avr_size,
    compile_avr,
    run_pipe_sim,
)
from pixelnet.firmware.virtual import run_elf_batch
from pixelnet.firmware.virtual_micropython import find_micropython
from pixelnet.trainer.data import noisy_test_set
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model
from pixelnet.trainer.patterns import clean_patterns
from pixelnet.trainer.train import train_default

DRIVER = Path(__file__).resolve().parent / "avr" / "driver.c"  # also used by the tests
TARGETS = {"q7_cycles": 1_250, "q7_speed_cycles": 950, "q15_speed_cycles": 4_000,
           "16x8_cycles": 4_000,
           "lesson_cycles": 400, "flash_bytes": 1_024, "ram_bytes": 64}
RANDOM_INPUTS = 10_000
CYCLE_GRID = 9  # values per input on the cycle grid: 9**4 = 6,561 vectors
QUICK_CYCLE_GRID, QUICK_RANDOM_INPUTS = 3, 200
MP_INFERENCES = 5_000  # per timed run, quick or full, so the two agree
# formats measured on the ATmega328P per network: 16x8 (int8 weights, int16 activations)
# against q15 on the default network; the lesson's ternary weights are exact in every format
AVR_FORMATS = {"default": ("q7", "q15", "16x8"), "lesson": ("q7", "q15")}


def cycle_inputs(model: Model, n_random: int, grid: int = CYCLE_GRID) -> np.ndarray:
    """Inputs in [-1, 1] that the worst case is taken over: a ``grid``**4 grid of the
    range, each first-layer neuron driven to both extremes (every input at ±1 along
    the signs of its weights), and ``n_random`` uniform random inputs."""
    axis = np.linspace(-1.0, 1.0, grid)
    grid_x = np.stack(np.meshgrid(axis, axis, axis, axis, indexing="ij"), -1).reshape(-1, 4)
    signs = np.where(model.layers[0].weights.T >= 0, 1.0, -1.0)
    random_x = np.random.default_rng(1).uniform(-1, 1, size=(n_random, 4))
    return np.vstack([grid_x, signs, -signs, random_x])


def _vectors(x: np.ndarray, act_max: int, itemsize: int) -> bytes:
    xi = np.clip(np.round(x * act_max), -act_max, act_max).astype(f"<i{itemsize}")
    rows = xi.view(np.uint8).reshape(len(x), -1)
    return np.hstack([np.full((len(x), 1), ord("X"), np.uint8), rows]).tobytes() + b"Q"


def _measure(elf: Path, base: Path, x: np.ndarray, act_max: int, itemsize: int,
             build: Path, mcu: str = AVR_MCU) -> dict:
    stdin = _vectors(x, act_max, itemsize)
    if mcu == AVR_MCU:
        result = run_elf_batch(elf, stdin, build_dir=build)
        regions, stack = result.regions, result.stack_peak
    else:  # no UART: the driver's byte pipe (no stack tracking there)
        regions, stack = run_pipe_sim(elf, stdin, build, mcu=mcu).regions, None
    flash, ram = avr_size(elf)
    base_flash, base_ram = avr_size(base)
    return {
        "cycles_max": max(regions),
        "cycles_mean": round(float(np.mean(regions)), 1),
        "cycle_inputs": len(regions),
        "flash_bytes": flash - base_flash,
        "ram_bytes": ram - base_ram,
        "stack_peak_bytes": stack,
    }


def measure_avr(model: Model, fmt: str, build: Path, x: np.ndarray,
                optimize: str = "size", mcu: str = AVR_MCU) -> dict:
    """Cycles over the inputs ``x`` and bytes of the generated C for ``model`` in ``fmt`` on
    the ATmega328P (or ``mcu``: the ATtiny85 runs the plain C path, having no multiplier),
    and the cycle floor of its shape (bench.cycle_floor)."""
    qm = quantize(model, fmt)
    src = build / f"{fmt}_{optimize}_{model.short_hash}_{mcu}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(qm, "arduino", optimize=optimize).items():
        (src / name).write_text(text)
    elf = compile_avr([DRIVER, src / "pixelnet_model.c"], [src], src / "m.elf", ["INFER_ONLY"],
                      mcu=mcu)
    same_type = ["BASELINE_ACT8"] if fmt == "q7" else []  # the baseline's act_t is the model's
    base = compile_avr([DRIVER], [src], src / "base.elf", ["BASELINE", *same_type], mcu=mcu)
    result = _measure(elf, base, x, qm.format.act_max, 1 if fmt == "q7" else 2, build, mcu)
    result["cycle_floor"] = cycle_floor(qm, in_flash=optimize == "size")
    return result


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
    # emlearn takes one hidden activation and a softmax output; put back each layer's own
    lines = path.read_text().splitlines()
    kinds = {"tanh": "Tanh", "relu": "Relu", "logistic": "Logistic", "identity": "Identity"}
    layer_lines = [i for i, line in enumerate(lines) if "EmlNetActivation" in line]
    for i, lay in zip(layer_lines, model.layers, strict=True):
        kind = kinds[lay.activation]
        lines[i] = re.sub(r"EmlNetActivation\w+", f"EmlNetActivation{kind}", lines[i])
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


def measure_emlearn(model: Model, build: Path, x: np.ndarray) -> dict:
    elf, base = _emlearn_elves(model, build)
    return _measure(elf, base, x, 32767, 2, build)


def emlearn_outputs(model: Model, build: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """emlearn's float C run on the ATmega328P in simavr: its outputs (float32, identity
    output layer) and its classes for the inputs ``x`` (given to it in q15)."""
    elf, _ = _emlearn_elves(model, build)
    xi = np.clip(np.round(x * 32768), -32767, 32767).astype("<i2")
    rows = np.hstack([np.full((len(x), 1), ord("X"), np.uint8), xi.view(np.uint8)])
    out = run_elf_batch(elf, rows.tobytes() + b"Q", build_dir=build).stdout
    replies = np.frombuffer(out, np.uint8).reshape(len(x), 4 * model.n_outputs + 1)
    return replies[:, :-1].copy().view("<f4").astype(float), replies[:, -1].astype(int)


def fidelity_sets(quick: bool = False) -> dict[str, np.ndarray]:
    """The inputs fidelity is measured on; ``quick`` keeps a sample of the larger sets."""
    noisy_x, _ = noisy_test_set()
    random_x = np.random.default_rng(2).uniform(-1, 1, size=(RANDOM_INPUTS, 4))
    keep = 200 if quick else None
    return {"clean": clean_patterns()[0], "noisy": noisy_x[:keep], "random": random_x[:keep]}


def _agreement(classes: np.ndarray, want: np.ndarray, resolvable: np.ndarray) -> dict:
    return {"agreement": float(np.mean((classes == np.argmax(want, axis=1))[resolvable])),
            "near_ties": int(np.count_nonzero(~resolvable)), "inputs": len(want)}


def fidelity(model: Model, fmt: str, sets: dict[str, np.ndarray],
             peer: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """Float model vs integer emulator: argmax agreement and max |error| of the outputs;
    the same for the peer's (outputs, classes) on the same sets, if given.

    An input whose two best float outputs differ by less than one output LSB of
    ``fmt`` is a near-tie: no integer code of that resolution can tell its classes
    apart, so it is counted (``near_ties``) and left out of ``agreement`` — for the
    peer too, so both agreements are over the same inputs.
    """
    qm = quantize(model, fmt)
    lsb = float(np.min(emulator.dequantize_outputs(qm, np.ones((1, model.n_outputs), int))))
    report = {}
    for name, x in sets.items():
        out = emulator.infer(qm, emulator.quantize_inputs(qm, x))
        want = model.forward(x)
        top2 = np.sort(want, axis=1)[:, -2:]
        resolvable = top2[:, 1] - top2[:, 0] >= lsb
        report[name] = _agreement(emulator.classify(out), want, resolvable)
        report[name]["max_abs_error"] = float(
            np.max(np.abs(emulator.dequantize_outputs(qm, out) - want)))
        if peer is not None:
            peer_out, peer_classes = peer[name]
            report[name]["peer"] = _agreement(peer_classes, want, resolvable)
            report[name]["peer"]["max_abs_error"] = float(np.max(np.abs(peer_out - want)))
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
span = 2 * int(sys.argv[3]) + 1  # inputs over the format's whole range
xs = [tuple((i * k) % span - span // 2 for k in (1, 7, 13, 29)) for i in range(1000)]
rounds = int(sys.argv[2]) // len(xs)  # a small list, walked many times: the heap stays small
t = time.ticks_us()
for _ in range(rounds):
    for x in xs:
        m.infer(x, out)
print(rounds * len(xs) * 1000000 // max(1, time.ticks_diff(time.ticks_us(), t)))
"""


def _micropython_module(model: Model, fmt: str, optimize: str, build: Path) -> Path:
    """The generated module and the timing script, in a folder of their own."""
    src = build / f"mp_{fmt}_{optimize}"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render(quantize(model, fmt), "micropython", optimize=optimize).items():
        (src / name).write_text(text)
    (src / "timer.py").write_text(MP_TIMER)
    return src


def _micropython_once(src: Path, n: int, act_max: int) -> int:
    done = subprocess.run([find_micropython(), str(src / "timer.py"), str(src), str(n),
                           str(act_max)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def micropython_rates(model: Model, fmt: str, build: Path, repeats: int) -> dict[str, int]:
    """Inferences per second of the generated module on the MicroPython unix port, plain
    (size) and native (speed), on inputs over the whole range of ``fmt``: the median of
    ``repeats`` alternating runs of each, and the median of the runs' ratios."""
    act_max = quantize(model, fmt).format.act_max
    sources = {opt: _micropython_module(model, fmt, opt, build)
               for opt in ("size", "speed", "viper")}
    runs: dict[str, list[int]] = {opt: [] for opt in sources}
    for _ in range(repeats):
        for opt, src in sources.items():
            runs[opt].append(_micropython_once(src, MP_INFERENCES, act_max))
    result: dict[str, Any] = {opt: int(statistics.median(rates)) for opt, rates in runs.items()}
    result["runs"] = repeats
    result["input_max"] = act_max
    result["median_run_ratio"] = round(statistics.median(
        fast / slow for fast, slow in zip(runs["speed"], runs["size"], strict=True)), 3)
    result["viper_median_run_ratio"] = round(statistics.median(
        fast / slow for fast, slow in zip(runs["viper"], runs["speed"], strict=True)), 3)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    """Every measurement, JSON-able; ``quick`` uses fewer inputs (a smaller grid, 200
    random inputs, samples of the noisy and random fidelity sets)."""
    grid, n_random = (QUICK_CYCLE_GRID, QUICK_RANDOM_INPUTS) if quick else (CYCLE_GRID,
                                                                           RANDOM_INPUTS)
    nets = {"default": train_default(), "lesson": lesson_model()}
    result: dict[str, Any] = {"targets": TARGETS, "avr": {}, "fidelity": {}, "micropython": {},
                              "avr_no_mul": {}, "no_mul_mcu": AVR_NO_MUL_MCU,
                              "error_bounds": {}}
    sets = fidelity_sets(quick)
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-") as tmp:
        build = Path(tmp)
        for name, model in nets.items():
            x = cycle_inputs(model, n_random, grid)
            result["avr"][name] = {
                f"{fmt}{suffix}": measure_avr(model, fmt, build, x, optimize)
                for fmt in AVR_FORMATS[name]
                for suffix, optimize in (("", "size"), ("_speed", "speed"))
            }
            result["avr"][name]["emlearn"] = measure_emlearn(model, build, x)
            result["avr_no_mul"][name] = {fmt: measure_avr(model, fmt, build, x, mcu=AVR_NO_MUL_MCU)
                                          for fmt in ("q7", "q15")}
            peer = {set_name: emlearn_outputs(model, build, set_x)
                    for set_name, set_x in sets.items()}
            result["fidelity"][name] = {fmt: fidelity(model, fmt, sets, peer)
                                        for fmt in AVR_FORMATS[name]}
            result["error_bounds"][name] = {  # proven over the whole input box (codegen.bound)
                fmt: float(np.max(error_bound(model, quantize(model, fmt))))
                for fmt in AVR_FORMATS[name]}
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
