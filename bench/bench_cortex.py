"""Benchmark of the Cortex-M3 firmware: size from arm-none-eabi-size, instructions from QEMU.

The same verification firmware as the Uno's, built for the LM3S6965 (``pixelnet build
--board cortex-m3``) with the default network (the one ``pixelnet train`` fits) and the
lesson's hand-wired one. Flash and static RAM come from ``arm-none-eabi-size``. The
instructions of one inference come from the virtual Cortex-M3 run under QEMU's
``-icount``: the firmware times each inference on its SysTick clock, and in icount mode
QEMU's virtual clock advances a fixed time per instruction executed, so the time is an
instruction count (``pixelnet.firmware.virtual_cortex``). Both are deterministic.

QEMU counts instructions, not cycles: a Cortex-M3 needs one cycle for most instructions
and more for loads, taken branches, 64-bit multiplies and divisions (and flash wait
states at 50 MHz), so the cycles of a real chip are somewhat higher. The count
includes the two timing marks' own clock reads: 37 instructions when nothing runs between them.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import numpy as np

from pixelnet.codegen.emulator import quantize_inputs
from pixelnet.codegen.quantize import quantize
from pixelnet.firmware.build_cortex import build_cortex
from pixelnet.firmware.virtual_cortex import BENCH_ICOUNT_SHIFT, VirtualCortex
from pixelnet.host.client import BoardClient
from pixelnet.host.vectors import random_vectors
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model
from pixelnet.trainer.train import train_default

FORMATS = ("q7", "q15")


def measure_instructions(board: VirtualCortex, client: BoardClient, model: Model, fmt: str,
                         n: int) -> list[int]:
    """Instructions of the inference, one input vector of the trainer's distribution at a time."""
    qm = quantize(model, fmt)
    counts = []
    for x in quantize_inputs(qm, random_vectors(n, seed=7)[0]).tolist():
        client.infer(x)
        counts.append(board.instruction_stats().last)
    return counts


def run(quick: bool = False, build_dir: Path | None = None) -> dict:
    """Build the default and the lesson's network for the Cortex-M3 in q7 and q15, size and
    count each."""
    n_infer = 30 if quick else 300
    nets = {"default": train_default(), "lesson": lesson_model()}
    result: dict = {"board": "LM3S6965 (QEMU lm3s6965evb)", "icount_shift": BENCH_ICOUNT_SHIFT,
                    "nets": {net: {} for net in nets}}
    with tempfile.TemporaryDirectory(prefix="pixelnet-bench-cortex-") as tmp:
        work = Path(build_dir) if build_dir is not None else Path(tmp)
        for (net, model), fmt in itertools.product(nets.items(), FORMATS):
            build = build_cortex(model, fmt, work / "cortex-m3" / net / fmt)
            with VirtualCortex(build.elf, Path(tmp) / f"state-{net}-{fmt}", build_dir=work,
                               icount_shift=BENCH_ICOUNT_SHIFT) as board, \
                    BoardClient.open(board.port) as client:
                client.info()
                counts = measure_instructions(board, client, model, fmt, n_infer)
            result["nets"][net][fmt] = {
                "flash_bytes": build.flash_bytes,
                "static_ram_bytes": build.ram_bytes,
                "instructions_per_inference": {"min": min(counts), "max": max(counts),
                                               "mean": float(np.mean(counts))},
            }
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
