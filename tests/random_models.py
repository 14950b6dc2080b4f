"""Random models across the space `generate` must handle, and batches of them as one program.

A batch is many generated models (prefixes m0, m1, ...) linked into tests/targets/batch.c,
so one compile and one simulator run check them all; its input records and the replies
the emulator expects are bytes, compared whole and, on a mismatch, model by model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelnet.codegen import emulator
from pixelnet.codegen.quantize import QuantizedModel
from pixelnet.codegen.render import render
from pixelnet.trainer.model_file import Layer, Model

BATCH_C = Path(__file__).resolve().parent / "targets" / "batch.c"
ACTIVATIONS = ("tanh", "logistic", "relu", "identity")
WEIGHT_KINDS = ("normal", "power_of_two", "ternary", "zero", "sparse")


def _weights(rng: np.random.Generator, kind: str, shape: tuple[int, ...], scale: float):
    if kind == "zero":
        return np.zeros(shape)
    if kind == "ternary":
        return rng.integers(-1, 2, size=shape).astype(np.float64)
    if kind == "power_of_two":
        exponents = rng.integers(-20, 21, size=shape)
        return rng.choice([-1.0, 1.0], size=shape) * 2.0**exponents * (rng.random(shape) < 0.8)
    w = rng.normal(0.0, scale, size=shape)
    return w * (rng.random(shape) < 0.2) if kind == "sparse" else w


def draw_model(rng: np.random.Generator) -> Model:
    """Depth 1-8, widths 1-16, per-layer weight scales 1e-7..1e7, exact powers of two,
    ternary, all-zero and sparse layers, biases or none, every activation."""
    depth = int(rng.integers(1, 9))
    sizes = [4, *rng.integers(1, 17, size=depth).tolist()]
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        kind = str(rng.choice(WEIGHT_KINDS))
        scale = 10.0 ** rng.uniform(-7, 7)
        w = _weights(rng, kind, (n_in, n_out), scale)
        b = _weights(rng, kind, (n_out,), scale) if rng.random() < 0.5 else None
        layers.append(Layer(w, b, str(rng.choice(ACTIVATIONS))))
    return Model(tuple(layers), tuple(f"c{i}" for i in range(sizes[-1])))


@dataclass(frozen=True)
class Entry:
    """One generated model in a batch, with the records it is checked on."""

    qm: QuantizedModel
    optimize: str
    x: np.ndarray  # inputs in the model's format [n, 4]
    calibrations: np.ndarray  # [m, 12]: dark[4], bright[4], adc[4] per 'R' record

    @property
    def dtype(self) -> str:
        return "<i1" if self.qm.format_bits == 7 else "<i2"


def make_entry(qm: QuantizedModel, optimize: str, rng: np.random.Generator, n: int) -> Entry:
    """Extremes, zero and random inputs; calibrations of every kind (inverted, equal)."""
    a = qm.format.act_max
    corners = np.array(list(itertools.product((-a, a), repeat=4)))
    x = np.vstack([corners, np.zeros((1, 4), int), rng.integers(-a, a + 1, size=(n, 4))])
    cal = rng.integers(0, 1024, size=(max(4, n // 8), 12))
    cal[0, 4:8] = cal[0, :4]  # dark == bright
    cal[1, :8] = np.sort(cal[1, :8])[::-1]  # dark > bright
    cal[2] = rng.integers(0, 65536, size=12)  # the whole uint16 range
    return Entry(qm, optimize, x, cal)


def _rows(tag: bytes, values: np.ndarray) -> np.ndarray:
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1)
    return np.hstack([np.full((len(raw), 1), tag[0], np.uint8), raw])


def _acts(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(len(values), -1)


def entry_bytes(k: int, e: Entry) -> tuple[bytes, bytes]:
    """The input records of entry ``k`` and the reply bytes the emulator expects."""
    qm, cal = e.qm, e.calibrations
    x_r = np.vstack([emulator.preprocess(qm, c[None, 8:], c[:4], c[4:8]) for c in cal])
    out_r = emulator.infer(qm, x_r)
    trace = emulator.infer_trace(qm, e.x)
    out_x = trace[-1]
    stdin = b"".join([
        b"M" + bytes([k]),
        _rows(b"R", cal.astype("<u2")).tobytes(),
        _rows(b"X", e.x.astype(e.dtype)).tobytes(),
        _rows(b"T", e.x.astype(e.dtype)).tobytes(),
    ])
    cls = lambda out: emulator.classify(out).astype(np.uint8)[:, None]  # noqa: E731
    reply = b"".join([
        np.hstack([_acts(x_r, e.dtype), _acts(out_r, e.dtype), cls(out_r)]).tobytes(),
        np.hstack([_acts(out_x, e.dtype), cls(out_x)]).tobytes(),
        np.hstack([_acts(np.hstack(trace), e.dtype), cls(out_x)]).tobytes(),
    ])
    return stdin, reply


def write_batch(entries: list[Entry], folder: Path, target: str) -> list[Path]:
    """Every entry's generated C (prefix mK) and batch_models.h; the .c files to compile."""
    folder.mkdir(parents=True, exist_ok=True)
    sources, header, cases = [], [], []
    for k, e in enumerate(entries):
        p, P = f"m{k}", f"M{k}"
        for name, text in render(e.qm, target, prefix=p, optimize=e.optimize).items():
            (folder / name).write_text(text)
        sources.append(folder / f"{p}_model.c")
        header += [
            f'#include "{p}_model.h"',
            f"static void run_{p}(uint8_t cmd)",
            "{",
            f"    {p}_act_t x[4], t[{P}_TRACE_LEN];",
            "    uint8_t c, n;",
            "    if (cmd == 'R') {",
            f"        {p}_calib_t cal;",
            "        uint16_t u[12];",
            "        get_u16s(u, 12);",
            f"        {p}_calib_init(&cal, u, u + 4);",
            f"        {p}_preprocess(&cal, u + 8, x);",
            "        PUT_ACTS(x, 4);",
            f"        c = {p}_infer(x, t);",
            f"        n = {P}_N_OUTPUTS;",
            "    } else if (cmd == 'X') {",
            "        GET_ACTS(x, 4);",
            f"        c = {p}_infer(x, t);",
            f"        n = {P}_N_OUTPUTS;",
            "    } else {",
            "        GET_ACTS(x, 4);",
            f"        c = {p}_infer_trace(x, t);",
            f"        n = {P}_TRACE_LEN;",
            "    }",
            "    PUT_ACTS(t, n);",
            "    put_byte(c);",
            "}",
        ]
        cases.append(f"    case {k}: run_{p}(cmd_); break; \\")
    header += ["#define RUN_MODEL(k_, cmd_) switch (k_) { \\", *cases, "    default: break; \\",
               "}"]
    (folder / "batch_models.h").write_text("\n".join(header) + "\n")
    return [BATCH_C, *sources]


def batch_bytes(entries: list[Entry]) -> tuple[bytes, list[bytes]]:
    """The whole batch's input, and each entry's expected reply."""
    parts = [entry_bytes(k, e) for k, e in enumerate(entries)]
    return b"".join(s for s, _ in parts) + b"Q", [r for _, r in parts]


def mismatches(entries: list[Entry], expected: list[bytes], got: bytes) -> list[str]:
    """Which entries' replies differ (empty when the whole output is bit-exact)."""
    if got == b"".join(expected):
        return []
    wrong, start = [], 0
    for k, (e, want) in enumerate(zip(entries, expected, strict=True)):
        if got[start : start + len(want)] != want:
            wrong.append(f"m{k}: {e.qm.fmt} {e.optimize} model {e.qm.model_hash}")
        start += len(want)
    return wrong or [f"{len(got)} reply bytes, expected {sum(map(len, expected))}"]
