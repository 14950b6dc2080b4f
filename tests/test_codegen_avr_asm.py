"""The q7 assembly of the ATmega328P build (codegen/avr_asm.py, the unrolled neurons, the
biases carrying a ReLU's rounding) against the emulator, bit for bit, in simavr.

The random models of test_codegen_random span the whole space a user can write, and few
of them are shaped like a trained network; these are: widths up to 8, weights and biases
of trained size, so their layers take every assembly form. The test first checks that
they do, so it cannot pass without running them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from random_models import ACTIVATIONS, batch_bytes, make_entry, mismatches, write_batch

from pixelnet.codegen import quantize
from pixelnet.codegen.render import render
from pixelnet.codegen.toolchain import compile_avr, run_pipe_sim
from pixelnet.trainer.model_file import Layer, Model

SEED = 20_261_129
N_MODELS = 6
PER_PROGRAM = 4  # builds linked into one test program: 32 KiB of flash holds this many
# the generated C of some model shows each form: (what, text it contains on AVR)
FORMS = {
    "assembly loop": '__asm__ __volatile__("1:',
    "its tanh": '"bst %B[s], 7\\n\\t"',
    "its ReLU": '"sbrc %B[s], 7\\n\\t" "clr %B[s]\\n\\t"',
    "its identity": '"lsl %[t]\\n\\t"',
    "tanh function": '"+z"(table)',
    "unrolled neurons": '"ldi %[t], ',
    "rounding in the bias": "if (acc < 0) {",
}


def _trained_like(rng: np.random.Generator) -> Model:
    """4 inputs, 1-3 hidden layers of 2-8 units, 2-6 outputs; weights ~ N(0, 1/n_in)."""
    sizes = [4, *rng.integers(2, 9, size=int(rng.integers(1, 4))).tolist(),
             int(rng.integers(2, 7))]
    layers = tuple(
        Layer(rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)),
              rng.normal(0.0, 0.3, n_out), str(rng.choice(ACTIVATIONS)))
        for n_in, n_out in itertools.pairwise(sizes))
    return Model(layers, tuple(f"c{i}" for i in range(sizes[-1])))


@pytest.fixture(scope="module")
def entries():
    rng = np.random.default_rng(SEED)
    models = [quantize(_trained_like(rng), "q7") for _ in range(N_MODELS)]
    return [make_entry(qm, optimize, rng, 24) for qm in models for optimize in ("size", "speed")]


def test_the_models_take_every_assembly_form(entries) -> None:
    code = "".join(render(e.qm, "arduino", optimize=e.optimize)["pixelnet_model.c"]
                   for e in entries)
    assert [form for form, text in FORMS.items() if text not in code] == []


def test_every_assembly_form_matches_the_emulator_on_the_atmega328p(entries,
                                                                    tmp_path: Path) -> None:
    for k in range(0, len(entries), PER_PROGRAM):
        group, folder = entries[k : k + PER_PROGRAM], tmp_path / str(k)
        sources = write_batch(group, folder, "arduino")
        elf = compile_avr(sources, [folder], folder / "batch.elf", mcu="atmega328p")
        stdin, expected = batch_bytes(group)
        got = run_pipe_sim(elf, stdin, folder, mcu="atmega328p").stdout
        assert mismatches(group, expected, got) == []
