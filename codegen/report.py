"""The quantisation report `pixelnet generate` prints: formats, widths, errors, bytes.

Two error figures, each saying what it is: a bound proven over the whole input box
(``pixelnet.codegen.bound``), and the largest error actually found by a search that looks
where errors live (a grid, random inputs, then rounds of refinement around the worst
inputs found so far: steep places, saturation, the ends of the tables). The found figure
never exceeds the bound; the bound is what holds for every input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixelnet.trainer.model_file import Model
from pixelnet.trainer.patterns import clean_patterns

from . import emulator
from .bound import error_bound
from .quantize import QuantizedModel
from .render import flash_tables

GRID_LEVELS = 17  # per pixel: 17**4 = 83,521 inputs
RANDOM_INPUTS = 20_000
REFINE_ROUNDS = 6  # each: the worst inputs per output, perturbed ever more finely
REFINE_KEEP = 32  # worst inputs kept per output and round
REFINE_TRIES = 8  # perturbations of each
LARGE_ERROR = 0.10  # of the output range: above this the report warns


@dataclass(frozen=True)
class Fidelity:
    max_abs_error: list[float]  # per output: the largest |error| found (sampled)
    agreement: float  # fraction of the sampled inputs with the same class
    n: int  # inputs evaluated


@dataclass(frozen=True)
class Analysis:
    """What the report and its warnings say about one quantised model."""

    found: Fidelity
    bound: list[float]  # per output: proven over the whole input box
    clean_agree: int  # clean patterns where the integer class is the float class
    clean_total: int
    output_range: float  # the float outputs' largest span over the sampled inputs

    @property
    def relative_error(self) -> float:
        """The largest error found, as a fraction of the output range."""
        return max(self.found.max_abs_error) / self.output_range if self.output_range else 0.0


def dense_grid(levels: int = GRID_LEVELS) -> np.ndarray:
    """Every combination of ``levels`` evenly spaced values in [-1, 1] per pixel."""
    axis = np.linspace(-1.0, 1.0, levels)
    return np.stack([m.reshape(-1) for m in np.meshgrid(*[axis] * 4, indexing="ij")], axis=1)


def _errors(model: Model, qm: QuantizedModel, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Float outputs, integer outputs and |error| per input and output."""
    want = model.forward(x)
    got = emulator.infer(qm, emulator.quantize_inputs(qm, x))
    return want, got, np.abs(emulator.dequantize_outputs(qm, got) - want)


def fidelity(model: Model, qm: QuantizedModel, x: np.ndarray) -> Fidelity:
    """How far the integer model is from the float model on inputs ``x``."""
    want, got, err = _errors(model, qm, x)
    agree = float(np.mean(emulator.classify(got) == np.argmax(want, axis=1)))
    return Fidelity([float(e) for e in err.max(axis=0)], agree, len(x))


def search(model: Model, qm: QuantizedModel, seed: int = 0) -> tuple[Fidelity, float]:
    """The errors found on the grid, random inputs, and rounds of perturbations of the
    worst inputs found so far; and the float outputs' largest span on them."""
    rng = np.random.default_rng(seed)
    x = np.vstack([dense_grid(), rng.uniform(-1.0, 1.0, size=(RANDOM_INPUTS, 4))])
    want, got, err = _errors(model, qm, x)
    worst, low, high = err.max(axis=0), want.min(axis=0), want.max(axis=0)
    agree, n = int(np.sum(emulator.classify(got) == np.argmax(want, axis=1))), len(x)
    for r in range(REFINE_ROUNDS):
        keep = min(REFINE_KEEP, len(x))
        picked = np.unique(np.argpartition(err, len(x) - keep, axis=0)[-keep:].reshape(-1))
        base = np.repeat(x[picked], REFINE_TRIES, axis=0)
        tries = np.clip(base + rng.normal(0.0, 0.1 * 4.0**-r, size=base.shape), -1.0, 1.0)
        want, got, tries_err = _errors(model, qm, tries)
        worst = np.maximum(worst, tries_err.max(axis=0))
        low, high = np.minimum(low, want.min(axis=0)), np.maximum(high, want.max(axis=0))
        agree += int(np.sum(emulator.classify(got) == np.argmax(want, axis=1)))
        n += len(tries)
        x, err = np.vstack([x[picked], tries]), np.vstack([err[picked], tries_err])
    found = Fidelity([float(e) for e in worst], agree / n, n)
    return found, float(np.max(high - low))


def analyse(model: Model, qm: QuantizedModel) -> Analysis:
    """The figures of the report: errors found and proven, agreement, output range."""
    found, output_range = search(model, qm)
    clean_x, _ = clean_patterns()
    clean = fidelity(model, qm, clean_x)
    return Analysis(
        found=found,
        bound=[float(b) for b in error_bound(model, qm)],
        clean_agree=round(clean.agreement * len(clean_x)),
        clean_total=len(clean_x),
        output_range=output_range,
    )


def _per_output(names: tuple[str, ...], values: list[float]) -> str:
    return ", ".join(f"{name} {v:.4g}" for name, v in zip(names, values, strict=True))


def render_report(
    model: Model, qm: QuantizedModel, optimize: str = "size", target: str = "arduino",
    analysis: Analysis | None = None,
) -> str:
    """Human-readable report; one line per layer, then fidelity and, for C, memory.

    The memory figures are those of the C tables (in AVR flash); a MicroPython module's
    memory depends on the port and the board, so the report says nothing about it.
    """
    a = analysis or analyse(model, qm)
    lines = [f"model {qm.model_hash}, format {qm.fmt} (activations int{qm.format_bits + 1})"]
    for i, q in enumerate(qm.layers):
        lines.append(
            f"  layer {i}: {q.n_in:>2} -> {q.n_out:<2} {q.activation:<8} "
            f"weights 2^{-q.weight_frac}, accumulator int{q.acc_bits} at 2^{-q.acc_frac} "
            f"(|acc| <= {q.acc_bound}), output 2^{-q.out_frac}"
            + (", saturating" if q.saturates else "")
        )
    lsb = 2.0 ** -qm.layers[-1].out_frac
    lines.append(f"float vs integer, |error| per output (1 LSB = {lsb:.4g}):")
    lines.append(f"  proven bound, every input in [-1, 1]^4: {_per_output(qm.classes, a.bound)}")
    lines.append(
        f"  largest found on {a.found.n} inputs ({GRID_LEVELS}^4 grid, {RANDOM_INPUTS} random, "
        f"the rest near the worst): {_per_output(qm.classes, a.found.max_abs_error)}"
    )
    lines.append(f"  class agreement: {a.found.agreement:.4%} of those inputs, "
                 f"{a.clean_agree} of {a.clean_total} clean patterns")
    if target == "micropython":
        return "\n".join(lines)
    act = 1 if qm.format_bits == 7 else 2
    lines.append(
        f"memory: {flash_tables(qm, optimize)} B of tables in flash (plus code: "
        f"`pixelnet bench` measures both), "
        f"{(qm.trace_len - qm.n_outputs) * act} B of static RAM for the hidden activations"
    )
    return "\n".join(lines)


def warnings(a: Analysis) -> list[str]:
    """What a user should not miss: a wrong class on a clean pattern, a large error."""
    found = []
    if a.clean_agree < a.clean_total:
        found.append(
            f"the integer model picks another class than the float model on "
            f"{a.clean_total - a.clean_agree} of the {a.clean_total} clean patterns"
        )
    if a.relative_error > LARGE_ERROR:
        found.append(
            f"the largest error found, {max(a.found.max_abs_error):.4g}, is "
            f"{a.relative_error:.0%} of the float outputs' range ({a.output_range:.4g})"
        )
    return found


def failures(a: Analysis, min_agreement: float | None, max_error: float | None) -> list[str]:
    """The thresholds (``--min-agreement`` percent of clean patterns, ``--max-error`` in
    output units against the largest error found) the model misses."""
    missed = []
    agreement = 100.0 * a.clean_agree / a.clean_total
    if min_agreement is not None and agreement < min_agreement:
        missed.append(f"clean-pattern agreement {agreement:.4g}% is below "
                      f"--min-agreement {min_agreement:g}")
    worst = max(a.found.max_abs_error)
    if max_error is not None and worst > max_error:
        missed.append(f"largest error found {worst:.4g} exceeds --max-error {max_error:g}")
    return missed
