"""Compile generated C with the host compiler or avr-gcc, and measure an AVR program.

Used by the tests and the benchmark; the flags are the ones the issue asks the
generated code to survive. A missing compiler is a ToolMissingError, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pixelnet.errors import PixelnetError, ToolMissingError

HOST_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2")
AVR_MCU = "atmega328p"
AVR_FLAGS = (
    f"-mmcu={AVR_MCU}", "-DF_CPU=16000000UL", "-std=gnu99", "-Os", "-Wall", "-Wextra", "-Werror",
    "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections",
)  # fmt: skip


class CompileError(PixelnetError):
    """Generated or test C that does not compile cleanly."""


def find_tool(name: str, package: str) -> str:
    """The path of ``name`` on PATH; ToolMissingError says which Debian package provides it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} is not installed: install the Debian package {package}")
    return path


def _compile(compiler: str, flags: Sequence[str], sources: Sequence[Path],
             include_dirs: Sequence[Path], defines: Sequence[str], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [compiler, *flags, *(f"-I{d}" for d in include_dirs),
               *(f"-D{d}" for d in defines), *map(str, sources), "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CompileError(f"{Path(compiler).name} failed:\n{done.stderr.strip()}")
    return out


def compile_host(sources: Sequence[Path], include_dirs: Sequence[Path], out: Path,
                 defines: Sequence[str] = ()) -> Path:
    """An executable built by the host C compiler (``$CC`` or gcc) with HOST_FLAGS."""
    compiler = os.environ.get("CC") or find_tool("gcc", "gcc")
    return _compile(compiler, HOST_FLAGS, sources, include_dirs, defines, out)


def compile_avr(sources: Sequence[Path], include_dirs: Sequence[Path], out: Path,
                defines: Sequence[str] = (), extra_flags: Sequence[str] = ()) -> Path:
    """An ATmega328P ELF built by avr-gcc with AVR_FLAGS (then ``extra_flags``)."""
    compiler = find_tool("avr-gcc", "gcc-avr (and avr-libc)")
    return _compile(compiler, (*AVR_FLAGS, *extra_flags), sources, include_dirs, defines, out)


def avr_size(elf: Path) -> tuple[int, int]:
    """(flash bytes = text + data, RAM bytes = data + bss) of an AVR ELF, from avr-size."""
    tool = find_tool("avr-size", "binutils-avr")
    done = subprocess.run([tool, str(elf)], capture_output=True, text=True, check=True)
    text, data, bss = (int(v) for v in done.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss
