"""Random models across the whole space: every model `generate` accepts compiles strictly
everywhere and computes the emulator's integers, bit for bit; every model it refuses gets
exit 2 and one line naming the layer.

Bounded for CI: the models of a run are batched into one program per compiler and target
(tests/targets/batch.c), so each target is one compile and one run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from random_models import (
    Entry,
    batch_bytes,
    draw_model,
    make_entry,
    mismatches,
    write_batch,
)

from pixelnet.cli import main
from pixelnet.codegen import quantize
from pixelnet.codegen.quantize import QuantizeError
from pixelnet.codegen.render import flash_tables, render
from pixelnet.codegen.toolchain import (
    AVR_NO_MUL_MCU,
    UBSAN_FLAGS,
    CompileError,
    compile_arm,
    compile_avr,
    compile_host,
    run_pipe_sim,
    run_qemu,
)
from pixelnet.firmware.virtual_micropython import find_micropython
from pixelnet.trainer.model_file import Model, save_model

SEED = 20_240_611
N_COMPILED = 5  # models drawn and compiled, each in every format and both --optimize modes
N_SHARE = 400  # models drawn and quantised to measure the share of the space accepted
FORMATS = ("q7", "q15", "16x8")
AVR_MEMORY = {"atmega328p": (32_768, 2_048), AVR_NO_MUL_MCU: (8_192, 512)}  # flash, RAM


@dataclass
class Batch:
    entries: list[Entry]
    stdin: bytes
    expected: list[bytes]


def _accepted(model: Model, fmt: str):
    try:
        return quantize(model, fmt)
    except QuantizeError:
        return None


@pytest.fixture(scope="module")
def batch() -> Batch:
    rng = np.random.default_rng(SEED)
    entries = []
    for _ in range(N_COMPILED):
        model = draw_model(rng)
        for fmt in FORMATS:
            qm = _accepted(model, fmt)
            if qm is not None:
                entries += [make_entry(qm, opt, rng, 40) for opt in ("size", "speed")]
    stdin, expected = batch_bytes(entries)
    return Batch(entries, stdin, expected)


def test_share_of_the_random_space_accepted_and_refusals_name_the_layer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(SEED + 1)
    accepted, refused = 0, []
    for _ in range(N_SHARE):
        model = draw_model(rng)
        for fmt in FORMATS:
            if _accepted(model, fmt) is None:
                refused.append((model, fmt))
            else:
                accepted += 1
    share = accepted / (len(FORMATS) * N_SHARE)
    with capsys.disabled():
        print(f"\naccepted {accepted} of {len(FORMATS) * N_SHARE} random (model, format) "
              f"pairs: {share:.1%}")
    assert share > 0.8
    for k, (model, fmt) in enumerate(refused[:6]):
        path = tmp_path / f"refused{k}.json"
        save_model(model, path)
        capsys.readouterr()
        code = main(["generate", "--model", str(path), "--target", "c", "--format", fmt,
                     "--out-dir", str(tmp_path / f"out{k}")])
        err = capsys.readouterr().err.strip()
        assert code == 2, err
        assert len(err.splitlines()) == 1 and "error: layer " in err, err


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_host_compilers_strict_with_ubsan_are_bit_exact(
    tmp_path: Path, batch: Batch, compiler: str
) -> None:
    sources = write_batch(batch.entries, tmp_path, "c")
    exe = compile_host(sources, [tmp_path], tmp_path / "batch", compiler=compiler,
                       extra_flags=UBSAN_FLAGS)
    done = subprocess.run([str(exe)], input=batch.stdin, capture_output=True)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[-2000:]
    assert mismatches(batch.entries, batch.expected, done.stdout) == []


def test_cortex_m3_under_qemu_is_bit_exact(tmp_path: Path, batch: Batch) -> None:
    sources = write_batch(batch.entries, tmp_path, "c")
    elf = compile_arm(sources, [tmp_path], tmp_path / "batch.elf")
    assert mismatches(batch.entries, batch.expected, run_qemu(elf, batch.stdin)) == []


def test_micropython_unix_port_is_bit_exact(tmp_path: Path, batch: Batch) -> None:
    for k, e in enumerate(batch.entries):
        (name, text), = render_micropython(e, k).items()
        (tmp_path / name).write_text(text)
    runner = Path(__file__).resolve().parent / "targets" / "batch_runner.py"
    done = subprocess.run([find_micropython(), str(runner), str(tmp_path),
                           str(len(batch.entries))], input=batch.stdin, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert mismatches(batch.entries, batch.expected, done.stdout) == []


def render_micropython(e: Entry, k: int) -> dict[str, str]:
    return render(e.qm, "micropython", prefix=f"m{k}", optimize=e.optimize)


def _ram_estimate(e: Entry) -> tuple[int, int]:
    """(static bytes: infer's hidden buffers, stack bytes of one call in batch.c)."""
    size = 1 if e.qm.format_bits == 7 else 2
    static = (e.qm.trace_len - e.qm.n_outputs) * size
    return static, (e.qm.trace_len + 4) * size + 160


def _flash_estimate(e: Entry) -> int:
    nonzero = sum(int(np.count_nonzero(q.weights)) for q in e.qm.layers)
    per_weight = 28 if e.optimize == "speed" and e.qm.format_bits == 15 else 6
    return flash_tables(e.qm, e.optimize) + per_weight * nonzero + 700


def _pack(entries: list[Entry], mcu: str) -> list[list[Entry]]:
    """Groups that should fit the core's flash and RAM (the linker has the last word)."""
    flash, ram = AVR_MEMORY[mcu]
    groups: list[list[Entry]] = [[]]
    for e in entries:
        trial = [*groups[-1], e]
        statics, stacks = zip(*map(_ram_estimate, trial), strict=True)
        fits = (sum(statics) + max(stacks) + 64 <= ram
                and sum(map(_flash_estimate, trial)) + 1_500 <= 0.9 * flash)
        if fits or not groups[-1]:
            groups[-1] = trial
        else:
            groups.append([e])
    return groups


def _run_avr(entries: list[Entry], folder: Path, mcu: str) -> tuple[int, int]:
    """Check ``entries`` in one program, halving it when it does not link; (checked, too
    large for the core alone)."""
    sources = write_batch(entries, folder, "arduino")
    try:
        elf = compile_avr(sources, [folder], folder / "batch.elf", mcu=mcu)
    except CompileError as exc:
        if "overflow" not in str(exc) and "will not fit" not in str(exc):
            raise
        if len(entries) == 1:
            return 0, 1
        half = len(entries) // 2
        a = _run_avr(entries[:half], folder / "a", mcu)
        b = _run_avr(entries[half:], folder / "b", mcu)
        return a[0] + b[0], a[1] + b[1]
    stdin, expected = batch_bytes(entries)
    got = run_pipe_sim(elf, stdin, folder, mcu=mcu).stdout
    assert mismatches(entries, expected, got) == []
    return len(entries), 0


@pytest.mark.parametrize("mcu", ["atmega328p", AVR_NO_MUL_MCU])
def test_avr_cores_in_simavr_are_bit_exact(
    tmp_path: Path, batch: Batch, mcu: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ATmega328P runs the inline assembly; the ATtiny85 has no multiplier and runs
    the plain C path, tables still in flash."""
    rng = np.random.default_rng(SEED + 2)
    small = [make_entry(e.qm, e.optimize, rng, 12) for e in batch.entries]
    checked = too_large = 0
    for i, group in enumerate(_pack(small, mcu)):
        done, large = _run_avr(group, tmp_path / str(i), mcu)
        checked, too_large = checked + done, too_large + large
    with capsys.disabled():
        print(f"\n{mcu}: {checked} generated models bit-exact, {too_large} too large for it")
    assert checked >= 0.5 * len(small)
