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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelnet.codegen.toolchain import find_tool

from .virtual import DEFAULT_BUILD_DIR, VirtualUno, build_sim_program

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

    def __init__(self, firmware: Path, state_dir: Path, *, icount_shift: int | None = None,
                 **options: Any) -> None:
        """The Uno's arguments (scene, noise, realtime, build_dir), and QEMU's -icount."""
        self._icount_shift = icount_shift
        super().__init__(firmware, state_dir, **options)

    def _harness_command(
        self, state_dir: Path, build_dir: Path, realtime: bool, board: str
    ) -> list[str]:
        """vcortex on QEMU (one board: `board` is the Uno's row, unused); `realtime` changes
        nothing, QEMU's timers follow the wall clock."""
        command = [str(build_cortex_harness(build_dir)), "--qemu", find_qemu(),
                   "--state", str(state_dir)]
        if self._icount_shift is not None:
            command += ["--icount", str(self._icount_shift)]
        return command

    def instruction_stats(self) -> InstructionStats:
        """Instructions of the timed inferences so far (a board started with icount_shift)."""
        fields = dict(item.split("=") for item in self._checked("instructions").split()[2:])
        return InstructionStats(**{name: int(value) for name, value in fields.items()})

    def __enter__(self) -> VirtualCortex:
        return self
