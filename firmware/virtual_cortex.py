"""The virtual Cortex-M3: the firmware ELF in QEMU (`lm3s6965evb`), its UART on a pseudo-terminal.

The harness (``sim/vcortex.c``, described in ``sim/SCENE.md``) is compiled on first use
with the system C compiler, like the Uno's, and shares its scene physics (``sim/scene.c``).
It starts ``qemu-system-arm``, bridges the board's UART0 to its own pseudo-terminal, and
answers the board's sensor line (UART1) with the ADC counts of the simulated photodiodes.
The calibration record is a file in the state directory (the firmware writes it through
semihosting), so it survives ``reset`` and a new board started on the same directory.

With ``icount_shift`` QEMU runs in instruction-counting mode (``-icount shift=N``): the
virtual clock advances 2**N ns per instruction executed, and the harness turns the
firmware's timing of each inference into instructions (``instruction_stats``). QEMU
counts instructions, not cycles: a Cortex-M3 takes one or more cycles per instruction
(loads, branches and divisions take more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelnet.codegen.toolchain import find_tool

from .virtual import (
    DEFAULT_BUILD_DIR,
    SimulationError,
    VirtualUno,
    build_sim_program,
    scene_commands,
)

HARNESS = "vcortex"
HARNESS_SOURCES = ("vcortex.c", "scene.c", "scene.h", "harness.c", "harness.h")
HARNESS_LOG = "vcortex.log"
# 2**7 ns per instruction against the firmware's 20 ns timer tick: 6.4 ticks per
# instruction, so a timed region converts back to a whole number of instructions.
BENCH_ICOUNT_SHIFT = 7


@dataclass(frozen=True)
class InstructionStats:
    marks: int  # inferences timed so far
    last: int  # instructions of the last one
    min: int
    max: int


def find_qemu() -> str:
    return find_tool("qemu-system-arm", "qemu-system-arm")


def build_cortex_harness(build_dir: Path = DEFAULT_BUILD_DIR) -> Path:
    """Compile vcortex once per source version; returns the executable."""
    return build_sim_program(HARNESS, HARNESS_SOURCES, build_dir)


class VirtualCortex(VirtualUno):
    """A running vcortex harness; a context manager that never leaves it (or QEMU) behind."""

    board = "virtual-cortex-m3"
    harness_name = "the QEMU harness (vcortex)"
    harness_log = HARNESS_LOG

    def __init__(  # the Uno's interface; QEMU's timers follow the wall clock anyway
        self,
        firmware: Path,
        state_dir: Path,
        *,
        scene: str | Sequence[float] = "solid_white",
        noise: float = 0.0,
        realtime: bool = False,
        build_dir: Path = DEFAULT_BUILD_DIR,
        icount_shift: int | None = None,
    ) -> None:
        firmware = Path(firmware)
        if not firmware.is_file():
            raise SimulationError(f"{firmware}: no such firmware file")
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        command = [str(build_cortex_harness(build_dir)), "--qemu", find_qemu(),
                   "--state", str(state_dir)]
        if icount_shift is not None:
            command += ["--icount", str(icount_shift)]
        for line in scene_commands(scene, noise=noise):
            command += ["-c", line]
        self._start([*command, str(firmware)], state_dir)

    def instruction_stats(self) -> InstructionStats:
        """Instructions of the timed inferences so far (a board started with icount_shift)."""
        fields = dict(item.split("=") for item in self._checked("instructions").split()[2:])
        return InstructionStats(**{name: int(value) for name, value in fields.items()})

    def __enter__(self) -> VirtualCortex:
        return self
