"""The quantisation report `pixelnet generate` prints: formats, widths, errors, bytes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixelnet.trainer.model_file import Model

from . import emulator
from .quantize import QuantizedModel
from .render import flash_tables

GRID_LEVELS = 17  # per pixel: 17**4 = 83,521 inputs


@dataclass(frozen=True)
class Fidelity:
    max_abs_error: list[float]  # per output, float model vs dequantised integer outputs
    agreement: float  # fraction of inputs with the same class
    n: int


def dense_grid(levels: int = GRID_LEVELS) -> np.ndarray:
    """Every combination of ``levels`` evenly spaced values in [-1, 1] per pixel."""
    axis = np.linspace(-1.0, 1.0, levels)
    return np.stack([m.reshape(-1) for m in np.meshgrid(*[axis] * 4, indexing="ij")], axis=1)


def fidelity(model: Model, qm: QuantizedModel, x: np.ndarray) -> Fidelity:
    """How far the integer model is from the float model on inputs ``x``."""
    want = model.forward(x)
    got = emulator.infer(qm, emulator.quantize_inputs(qm, x))
    err = np.max(np.abs(emulator.dequantize_outputs(qm, got) - want), axis=0)
    agree = float(np.mean(emulator.classify(got) == np.argmax(want, axis=1)))
    return Fidelity([float(e) for e in err], agree, len(x))


def render_report(
    model: Model, qm: QuantizedModel, optimize: str = "size", target: str = "arduino"
) -> str:
    """Human-readable report; one line per layer, then fidelity and, for C, memory.

    The memory figures are those of the C tables (in AVR flash); a MicroPython module's
    memory depends on the port and the board, so the report says nothing about it.
    """
    lines = [f"model {qm.model_hash}, format {qm.fmt} (activations int{qm.format_bits + 1})"]
    for i, q in enumerate(qm.layers):
        lines.append(
            f"  layer {i}: {q.n_in:>2} -> {q.n_out:<2} {q.activation:<8} "
            f"weights 2^-{q.weight_frac}, accumulator int{q.acc_bits} at 2^-{q.acc_frac} "
            f"(|acc| <= {q.acc_bound}), output 2^-{q.out_frac}"
            + (", saturating" if q.saturates else "")
        )
    fid = fidelity(model, qm, dense_grid())
    errors = ", ".join(f"{name} {e:.4g}" for name, e in zip(qm.classes, fid.max_abs_error,
                                                            strict=True))
    lines.append(f"float vs integer on a {GRID_LEVELS}^4 grid ({fid.n} inputs):")
    lines.append(f"  max |error| per output: {errors}")
    lines.append(f"  class agreement: {fid.agreement:.4%}")
    if target == "micropython":
        return "\n".join(lines)
    act = 1 if qm.format_bits == 7 else 2
    lines.append(
        f"memory: {flash_tables(qm, optimize)} B of tables in flash (plus code: "
        f"`pixelnet bench` measures both), "
        f"{(qm.trace_len - qm.n_outputs) * act} B of static RAM for the hidden activations"
    )
    return "\n".join(lines)
