"""Compile generated C with the host compilers, avr-gcc or arm-none-eabi-gcc; run it.

Used by the tests and the benchmark; the flags are the ones the issue asks the
generated code to survive. A missing compiler is a ToolMissingError, never a skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelnet.errors import PixelnetError, ToolMissingError

HOST_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2")
UBSAN_FLAGS = ("-fsanitize=undefined", "-fno-sanitize-recover=all")
HOST_COMPILERS = ("gcc", "clang")
AVR_MCU = "atmega328p"
AVR_NO_MUL_MCU = "attiny85"  # avr25: no mul/muls/mulsu; the generated C takes its plain path
AVR_CLOCK = {"atmega328p": 16_000_000, "attiny85": 8_000_000}
AVR_COMMON_FLAGS = ("-std=gnu99", "-Os", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
                    "-fdata-sections", "-Wl,--gc-sections")
AVR_FLAGS = (f"-mmcu={AVR_MCU}", f"-DF_CPU={AVR_CLOCK[AVR_MCU]}UL", *AVR_COMMON_FLAGS)
TARGETS_DIR = Path(__file__).resolve().parent / "targets"
ARM_FLAGS = ("-mcpu=cortex-m3", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
             "-O2", "-nostartfiles", "-ffunction-sections", "-fdata-sections",
             "-Wl,--gc-sections")
ARM_PACKAGE = "gcc-arm-none-eabi (and libnewlib-arm-none-eabi)"
QEMU_MACHINE = "lm3s6965evb"  # a Cortex-M3: 32-bit int, where fixed-point code goes wrong
# data-space addresses of GPIOR0..2 (the region mark and the byte pipe of pipe_sim.c)
PIPE_REGISTERS = {"attiny85": (0x31, 0x32, 0x33), "atmega328p": (0x3E, 0x4A, 0x4B)}


class CompileError(PixelnetError):
    """Generated or test C that does not compile cleanly."""


def find_tool(name: str, package: str) -> str:
    """The path of ``name`` on PATH; ToolMissingError says which Debian package provides it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} is not installed: install the Debian package {package}")
    return path


def find_arm_tool(name: str) -> str:
    """The path of an ARM bare-metal tool (``arm-none-eabi-gcc``, ``qemu-system-arm``)."""
    if name.startswith("qemu"):
        return find_tool(name, "qemu-system-arm")
    return find_tool(name, ARM_PACKAGE)


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
                 defines: Sequence[str] = (), compiler: str | None = None,
                 extra_flags: Sequence[str] = ()) -> Path:
    """An executable built by a host C compiler (``compiler``, else ``$CC`` or gcc) with
    HOST_FLAGS, then ``extra_flags`` (UBSAN_FLAGS, say)."""
    if compiler is None:
        compiler = os.environ.get("CC") or find_tool("gcc", "gcc")
    elif os.sep not in compiler:
        compiler = find_tool(compiler, compiler)
    return _compile(compiler, (*HOST_FLAGS, *extra_flags), sources, include_dirs, defines, out)


def compile_avr(sources: Sequence[Path], include_dirs: Sequence[Path], out: Path,
                defines: Sequence[str] = (), extra_flags: Sequence[str] = (),
                mcu: str = AVR_MCU) -> Path:
    """An AVR ELF (the ATmega328P unless ``mcu``) built by avr-gcc with AVR_FLAGS'
    options (then ``extra_flags``)."""
    compiler = find_tool("avr-gcc", "gcc-avr (and avr-libc)")
    flags = (f"-mmcu={mcu}", f"-DF_CPU={AVR_CLOCK.get(mcu, 8_000_000)}UL", *AVR_COMMON_FLAGS,
             *extra_flags)
    return _compile(compiler, flags, sources, include_dirs, defines, out)


def compile_arm(sources: Sequence[Path], include_dirs: Sequence[Path], out: Path,
                defines: Sequence[str] = ()) -> Path:
    """A Cortex-M3 ELF for QEMU's lm3s6965evb: ``sources`` with a bare start whose stdin,
    stdout and exit code are semihosting's (codegen/targets/arm_start.c)."""
    compiler = find_arm_tool("arm-none-eabi-gcc")
    flags = (*ARM_FLAGS, f"-T{TARGETS_DIR / 'arm.ld'}")
    return _compile(compiler, flags, [TARGETS_DIR / "arm_start.c", *sources], include_dirs,
                    defines, out)


def _run(command: Sequence[str], stdin: bytes, what: str) -> bytes:
    done = subprocess.run(list(command), input=stdin, capture_output=True)
    if done.returncode != 0:
        raise CompileError(f"{what} exited with {done.returncode}:\n"
                           f"{done.stderr.decode(errors='replace').strip()[-2000:]}")
    return done.stdout


def run_qemu(elf: Path, stdin: bytes) -> bytes:
    """Run a compile_arm ELF in qemu-system-arm; its stdout (CompileError if it fails)."""
    qemu = find_arm_tool("qemu-system-arm")
    command = [qemu, "-M", QEMU_MACHINE, "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    return _run(command, stdin, f"{elf.name} in QEMU")


@dataclass(frozen=True)
class PipeRun:
    stdout: bytes
    regions: list[int]  # cycles of each GPIOR0-marked region
    cycles: int


def build_pipe_sim(build_dir: Path) -> Path:
    """The simavr byte-pipe harness (codegen/targets/pipe_sim.c), built once per version."""
    source = TARGETS_DIR / "pipe_sim.c"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    exe = Path(build_dir) / "pipe_sim" / digest / "pipe_sim"
    if exe.exists():
        return exe
    from pixelnet.firmware.virtual import _simavr_flags

    exe.parent.mkdir(parents=True, exist_ok=True)
    partial = exe.with_name(f"pipe_sim.{os.getpid()}.partial")  # parallel builds: rename
    done = subprocess.run([find_tool("gcc", "gcc"), "-O2", "-Wall", "-Wextra", "-Werror",
                           str(source), "-o", str(partial), *_simavr_flags(), "-lelf"],
                          capture_output=True, text=True)  # libraries after the source
    if done.returncode != 0:
        raise CompileError(f"the simavr pipe harness did not build:\n{done.stderr.strip()}")
    partial.replace(exe)
    return exe


def run_pipe_sim(elf: Path, stdin: bytes, build_dir: Path, mcu: str = AVR_NO_MUL_MCU,
                 max_cycles: int = 4_000_000_000) -> PipeRun:
    """Run an AVR ELF in simavr with stdin and stdout through GPIOR1/GPIOR2 (the driver's
    path on cores without a UART); cycles of its GPIOR0-marked regions."""
    mark, read, write = PIPE_REGISTERS[mcu]
    command = [str(build_pipe_sim(build_dir)), mcu, str(AVR_CLOCK.get(mcu, 8_000_000)),
               str(mark), str(read), str(write), str(max_cycles), str(elf)]
    done = subprocess.run(command, input=stdin, capture_output=True)
    report = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise CompileError(f"{elf.name} in simavr ({mcu}) ended badly:\n{report.strip()[-2000:]}")
    regions = [int(line.split()[1]) for line in report.splitlines() if line.startswith("region ")]
    cycles = next(int(line.split()[1]) for line in report.splitlines()
                  if line.startswith("cycles "))
    return PipeRun(done.stdout, regions, cycles)


def avr_size(elf: Path) -> tuple[int, int]:
    """(flash bytes = text + data, RAM bytes = data + bss) of an AVR ELF, from avr-size."""
    tool = find_tool("avr-size", "binutils-avr")
    done = subprocess.run([tool, str(elf)], capture_output=True, text=True, check=True)
    text, data, bss = (int(v) for v in done.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss
