"""Build the verification firmware for a Cortex-M3 board with Debian's arm-none-eabi toolchain.

The same protocol core as the Uno (``arduino/pixelnet_uno/pn_app.c``, ``pn_frame.c`` and
``pn_text.c``, compiled unchanged) with a board's hooks file from ``cortex/`` (clock, UARTs, sensor,
calibration store, watchdog and ``main``), the Cortex-M start-up code and linker script
beside it, and the model's Arduino-library C (the generated model and its ``PREFIX.h``),
which is plain C: ``const`` tables stay in flash on ARM, with no PROGMEM.

Every file is compiled with ``-Wall -Wextra -Werror`` by ``arm-none-eabi-gcc`` or, with
``compiler="clang"``, by clang for ``--target=arm-none-eabi`` against newlib's headers;
``arm-none-eabi-gcc`` links either way (newlib-nano, ``--gc-sections``). The build
directory receives the generated model (``src/``), the objects, ``pixelnet_BOARD.elf``
(what QEMU runs) and ``pixelnet_BOARD.bin`` (what a flasher writes at address 0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pixelnet.codegen.toolchain import find_tool
from pixelnet.errors import PixelnetError
from pixelnet.files import make_dirs
from pixelnet.trainer.model_file import Model

from .build import (
    FORMATS,
    SKETCH_SOURCE,
    BuildError,
    _run,
    default_model,
    firmware_version,
    parse_avr_size,
    sketch_defines,
    write_library_sources,
)

CORTEX_SOURCE = Path(__file__).resolve().parent / "cortex"
ARM_PACKAGE = "gcc-arm-none-eabi (and libnewlib-arm-none-eabi)"
NEWLIB_INCLUDE = Path("/usr/lib/arm-none-eabi/include")
COMPILERS = ("gcc", "clang")


@dataclass(frozen=True)
class CortexBoard:
    """A Cortex-M board: its hooks file, the name it reports in INFO, its CPU flags."""

    name: str  # the --board name
    description: str  # for --board's help
    hooks: str  # file in cortex/
    reported_name: str  # INFO's board field
    cpu_flags: tuple[str, ...]
    flash_bytes: int
    ram_bytes: int


CORTEX_BOARDS = {
    "cortex-m3": CortexBoard(
        name="cortex-m3", description="TI LM3S6965 (Cortex-M3), bare metal; the virtual one "
        "runs in QEMU", hooks="pn_lm3s6965.c", reported_name="lm3s6965",
        cpu_flags=("-mcpu=cortex-m3", "-mthumb"), flash_bytes=256 * 1024, ram_bytes=64 * 1024,
    ),
}
# The portable core, compiled as for the Uno; PN_HW_MARKS_INFERENCE makes it call the
# hooks' pn_hw_mark_inference around every inference (the virtual board times it).
CORE_SOURCES = ("pn_app.c", "pn_frame.c", "pn_text.c")
SHARED_SOURCES = ("startup.c", "pn_semihost.c")
OUR_FLAGS = ("-std=gnu11", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra",
             "-Werror", "-DPN_HW_MARKS_INFERENCE")
LINK_FLAGS = ("-nostartfiles", "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs")


@dataclass(frozen=True)
class CortexBuildResult:
    elf: Path
    bin: Path
    flash_bytes: int  # .text + .data, what a flasher writes
    ram_bytes: int  # .data + .bss, static RAM before the stack
    source_dir: Path  # the generated model


def find_arm_gcc() -> str:
    return find_tool("arm-none-eabi-gcc", ARM_PACKAGE)


def find_arm_size() -> str:
    return find_tool("arm-none-eabi-size", ARM_PACKAGE)


def _compiler_command(compiler: str, board: CortexBoard) -> list[str]:
    if compiler == "gcc":
        return [find_arm_gcc(), *board.cpu_flags]
    if compiler == "clang":
        if not (NEWLIB_INCLUDE / "stdint.h").is_file():
            raise BuildError(f"newlib's headers are missing at {NEWLIB_INCLUDE}: install "
                             "the Debian package libnewlib-arm-none-eabi")
        clang = find_tool("clang", "clang")
        return [clang, "--target=arm-none-eabi", *board.cpu_flags, f"-isystem{NEWLIB_INCLUDE}"]
    raise PixelnetError(f"unknown compiler {compiler!r}; choose one of {', '.join(COMPILERS)}")


def hand_written_sources(board: CortexBoard) -> list[Path]:
    """The firmware's own C files: the portable core, start-up, semihosting, the hooks."""
    return [
        *(SKETCH_SOURCE / name for name in CORE_SOURCES),
        *(CORTEX_SOURCE / name for name in (*SHARED_SOURCES, board.hooks)),
    ]


def compile_command(compiler: str, board: CortexBoard, model_dir: Path,
                    prefix: str = "pixelnet") -> list[str]:
    """The compiler and every flag for one firmware source (add ``-c SOURCE -o OBJ``)."""
    return [*_compiler_command(compiler, board), *OUR_FLAGS,
            *sketch_defines(prefix, firmware_version()),
            f'-DPN_BOARD_NAME="{board.reported_name}"', f"-I{model_dir}", f"-I{SKETCH_SOURCE}",
            f"-I{CORTEX_SOURCE}"]


def build_cortex(
    model: Model | None,
    fmt: str,
    build_dir: Path,
    *,
    board: str = "cortex-m3",
    prefix: str = "pixelnet",
    compiler: str = "gcc",
) -> CortexBuildResult:
    """Generate the model as plain C, compile the firmware for the board, link, make .bin."""
    if fmt not in FORMATS:
        raise PixelnetError(f"unknown number format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if board not in CORTEX_BOARDS:
        raise PixelnetError(f"unknown board {board!r}; choose one of {', '.join(CORTEX_BOARDS)}")
    spec = CORTEX_BOARDS[board]
    build_dir = make_dirs(build_dir, "build directory")
    model_dir = build_dir / "src"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    write_library_sources(model or default_model(), fmt, model_dir, prefix)
    command = compile_command(compiler, spec, model_dir, prefix)
    obj_dir = build_dir / f"obj-{compiler}"
    obj_dir.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in [*hand_written_sources(spec), *sorted(model_dir.glob("*.c"))]:
        obj = obj_dir / f"{source.name}.o"
        _run([*command, "-c", str(source), "-o", str(obj)])
        objects.append(str(obj))
    stem = f"pixelnet_{board.replace('-', '_')}" + ("" if compiler == "gcc" else f"_{compiler}")
    elf, binary = build_dir / f"{stem}.elf", build_dir / f"{stem}.bin"
    partial = elf.with_suffix(f".{os.getpid()}.partial")  # QEMU never loads half an ELF
    _run([find_arm_gcc(), *spec.cpu_flags, *LINK_FLAGS, f"-T{CORTEX_SOURCE / 'cortex_m.ld'}",
          "-o", str(partial), *objects])
    partial.replace(elf)
    _run([find_tool("arm-none-eabi-objcopy", ARM_PACKAGE), "-O", "binary", str(elf), str(binary)])
    size = subprocess.run([find_arm_size(), "-A", str(elf)], capture_output=True, text=True,
                          check=True)
    flash, ram = parse_avr_size(size.stdout)
    return CortexBuildResult(elf=elf, bin=binary, flash_bytes=flash, ram_bytes=ram,
                             source_dir=model_dir)
