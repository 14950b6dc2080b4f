"""Build the Uno firmware: sketch + generated model, compiled with the real Arduino AVR core.

We call avr-gcc directly instead of arduino-cli: no downloads, ~1 s per build,
and every flag is visible here. The build directory receives a complete copy
of the sketch folder with the generated model beside it (it opens in the
Arduino IDE as is), the object files, the core archive (cached, keyed by the
compiler flags), ``pixelnet_uno.elf`` and ``pixelnet_uno.hex``.

The core is compiled with its own warnings silenced (they are not ours); our
files are compiled with ``-Wall -Wextra -Werror``. ``core=False`` builds the same
protocol with plain avr-gcc and no Arduino core (``arduino/bare/pn_bare.c`` in
place of the .ino): smaller, and it needs nothing but the AVR toolchain.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelnet import __version__
from pixelnet.codegen.toolchain import find_tool
from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.files import make_dirs
from pixelnet.firmware.boards import Board, board_row
from pixelnet.trainer.model_file import Model

SKETCH_NAME = "pixelnet_uno"
SKETCH_SOURCE = Path(__file__).resolve().parent / "arduino" / SKETCH_NAME
# main() and the hardware hooks on bare registers, for the build without the core
BARE_MAIN = Path(__file__).resolve().parent / "arduino" / "bare" / "pn_bare.c"
ARDUINO_AVR_ENV = "PIXELNET_ARDUINO_AVR"
ARDUINO_AVR_DEFAULT = Path("/usr/share/arduino/hardware/arduino/avr")
# simavr's header that stamps chip and clock into the ELF (harness reads it).
MCU_SECTION_HEADER_DIRS = (Path("/usr/include/simavr"), Path("/usr/local/include/simavr"))
FORMATS = ("q7", "q15", "16x8")
FIRMWARE_STEM = "PN"  # every name of the firmware's own starts pn_ or PN_
# Boards whose chip the bare build's registers (pn_bare.c: USART0, ADC, Timer1) fit.
BARE_MCUS = ("atmega328p",)

C_FLAGS = ("-std=gnu11",)
CXX_FLAGS = ("-std=gnu++11", "-fno-exceptions", "-fno-threadsafe-statics", "-fpermissive")
# Debian's gcc-avr 5.4 lacks DECIMAL_DIG, which the core's WString.cpp needs.
CORE_FLAGS = ("-w", "-DDECIMAL_DIG=__DECIMAL_DIG__")
OUR_FLAGS = ("-Wall", "-Wextra", "-Werror")
# Keep simavr's .mmcu section (anchored by the symbol _mmcu) at its conventional address.
MCU_SECTION_LINK_FLAGS = ("-Wl,--undefined=_mmcu,--section-start=.mmcu=0x910000",)


def target_flags(board: Board) -> tuple[str, ...]:
    """The chip, clock and board macros, as the Arduino IDE passes them for ``board``."""
    return (
        f"-mmcu={board.mcu}", f"-DF_CPU={board.f_cpu}L", "-DARDUINO=10807", f"-D{board.define}",
        "-DARDUINO_ARCH_AVR", *board.usb_defines, "-Os", "-ffunction-sections",
        "-fdata-sections",
    )


def link_flags(board: Board) -> tuple[str, ...]:
    return (f"-mmcu={board.mcu}", "-Os", "-Wl,--gc-sections")


def board_defines(board: Board) -> tuple[str, ...]:
    """What the firmware core reports (INFO's board name) and stamps for simavr."""
    return (f'-DPN_BOARD_NAME="{board.name}"', f'-DPN_MCU_NAME="{board.mcu}"')


class BuildError(PixelnetError):
    """The compiler rejected the sketch or the generated model; carries its output."""


@dataclass(frozen=True)
class BuildResult:
    elf: Path
    hex: Path
    flash_bytes: int  # .text + .data, what avrdude writes
    ram_bytes: int  # .data + .bss + .noinit, static RAM before the stack
    sketch_dir: Path  # the complete sketch folder, model included


@dataclass(frozen=True)
class Toolchain:
    gcc: str
    gxx: str
    ar: str
    objcopy: str
    size: str
    core: Path | None  # .../hardware/arduino/avr, None for a bare build
    mcu_section_dir: Path | None

    def core_includes(self, board: Board) -> tuple[str, ...]:
        if self.core is None:
            return ()
        return (f"-I{self.core / 'cores' / 'arduino'}",
                f"-I{self.core / 'variants' / board.variant}")


def _which(name: str) -> str:
    return find_tool(name, "gcc-avr (with avr-libc and binutils-avr)")


def find_arduino_core() -> Path:
    """The Arduino AVR core: $PIXELNET_ARDUINO_AVR or Debian's arduino-core-avr."""
    root = Path(os.environ.get(ARDUINO_AVR_ENV, ARDUINO_AVR_DEFAULT))
    if not (root / "cores" / "arduino" / "Arduino.h").is_file():
        raise ToolMissingError(
            f"Arduino AVR core not found at {root} (no cores/arduino/Arduino.h); install the "
            f"Debian package arduino-core-avr or point {ARDUINO_AVR_ENV} at "
            ".../hardware/arduino/avr"
        )
    return root


def find_toolchain(with_core: bool = True) -> Toolchain:
    section = next(
        (d for d in MCU_SECTION_HEADER_DIRS if (d / "avr" / "avr_mcu_section.h").is_file()), None
    )
    return Toolchain(
        gcc=_which("avr-gcc"), gxx=_which("avr-g++"), ar=_which("avr-gcc-ar"),
        objcopy=_which("avr-objcopy"), size=_which("avr-size"),
        core=find_arduino_core() if with_core else None,
        mcu_section_dir=section,
    )


def firmware_version(version: str = __version__) -> tuple[int, int, int]:
    """major.minor.patch of the package, as the board reports it in INFO."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"version {version!r} is not major.minor.patch")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def sketch_defines(prefix: str, version: tuple[int, int, int]) -> tuple[str, ...]:
    """The -D flags that bind the sketch to a model prefix and the firmware version."""
    major, minor, patch = version
    return (
        f'-DPN_MODEL_HEADER="{prefix}_model.h"', f'-DPN_LIBRARY_HEADER="{prefix}.h"',
        f"-DPN_PREFIX={prefix}",
        f"-DPN_PREFIX_UPPER={prefix.upper()}", f"-DPN_FW_MAJOR={major}",
        f"-DPN_FW_MINOR={minor}", f"-DPN_FW_PATCH={patch}",
    )


def compile_command(tools: Toolchain, board: Board, source: Path, obj: Path,
                    extra: Sequence[str]) -> list[str]:
    """avr-gcc/avr-g++ for one source; .ino is C++ as in the Arduino IDE."""
    suffix = source.suffix
    target = target_flags(board)
    if suffix == ".c":
        return [tools.gcc, *target, *C_FLAGS, *extra, "-c", str(source), "-o", str(obj)]
    if suffix == ".S":
        return [tools.gcc, *target, "-x", "assembler-with-cpp", *extra, "-c", str(source),
                "-o", str(obj)]
    language = ["-x", "c++"] if suffix == ".ino" else []
    return [tools.gxx, *target, *CXX_FLAGS, *extra, *language, "-c", str(source), "-o",
            str(obj)]


def parse_avr_size(text: str) -> tuple[int, int]:
    """(flash, ram) bytes from ``avr-size -A`` output."""
    sections = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith(".") and fields[1].isdigit():
            sections[fields[0]] = int(fields[1])
    if ".text" not in sections:
        raise BuildError(f"avr-size printed no .text section:\n{text}")
    flash = sections[".text"] + sections.get(".data", 0)
    ram = sections.get(".data", 0) + sections.get(".bss", 0) + sections.get(".noinit", 0)
    return flash, ram


def _run(command: Sequence[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"{Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".c", ".cpp", ".S", ".ino"))


def build_core(tools: Toolchain, board: Board, build_dir: Path) -> Path:
    """core.a of the Arduino core, rebuilt only when the flags or the core change."""
    assert tools.core is not None
    core_src = tools.core / "cores" / "arduino"
    sources = _sources(core_src)
    flags = [*target_flags(board), *CORE_FLAGS, *tools.core_includes(board)]
    key = hashlib.sha256(
        "\n".join([*flags, *(f"{s}:{s.stat().st_mtime_ns}" for s in sources)]).encode()
    ).hexdigest()[:12]
    archive = build_dir / f"core-{key}" / "core.a"
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in sources:
        obj = archive.parent / f"{source.name}.o"
        _run(compile_command(tools, board, source, obj, [*CORE_FLAGS, *tools.core_includes(board)]))
        objects.append(str(obj))
    partial = archive.with_suffix(f".a.{os.getpid()}.part")  # parallel builds never clash
    _run([tools.ar, "rcs", str(partial), *objects])
    partial.replace(archive)
    return archive


def export_sketch(model: Model, fmt: str, sketch_dir: Path, prefix: str) -> Path:
    """A complete sketch folder: our sources plus the model's Arduino library sources
    (``src/`` of ``generate --target arduino-library``: the generated model and the
    header with class names and output scale), so the firmware is one user of that
    library's C."""
    if sketch_dir.exists():
        shutil.rmtree(sketch_dir)
    shutil.copytree(SKETCH_SOURCE, sketch_dir)
    write_library_sources(model, fmt, sketch_dir, prefix)
    return sketch_dir


def write_library_sources(model: Model, fmt: str, out_dir: Path, prefix: str) -> None:
    """The C of the model's Arduino library (its ``src/``) into ``out_dir``: plain C that
    every board's firmware compiles (weights in PROGMEM on AVR only)."""
    from pixelnet.codegen import quantize
    from pixelnet.codegen.render import render, write_files

    library = render(quantize(model, fmt), "arduino-library", prefix=prefix)
    write_files({name.removeprefix("src/"): text for name, text in library.items()
                 if name.startswith("src/")}, out_dir)


def check_firmware_prefix(prefix: str) -> str:
    """A prefix for the model generated into the firmware: valid C, and not the firmware's own.

    The firmware names everything ``pn_``/``PN_`` (pn_model.h's guard is ``PN_MODEL_H``,
    its hash macro ``PN_MODEL_HASH_INIT``): a model generated with that stem would define
    the same names and the build would fail with a compiler dump.
    """
    from pixelnet.codegen.render import validate_prefix

    validate_prefix(prefix)
    stem = prefix.upper()
    if stem == FIRMWARE_STEM or stem.startswith(FIRMWARE_STEM + "_"):
        raise PixelnetError(
            f"prefix {prefix!r} collides with the firmware's own {FIRMWARE_STEM}_ names; "
            "choose another (default: pixelnet)"
        )
    return prefix


def default_model() -> Model:
    """The lesson's hand-wired network: needs no training and classifies the eight scenes."""
    from pixelnet.trainer.lesson import lesson_model

    return lesson_model()


def _our_sources(sketch: Path, with_core: bool) -> list[Path]:
    if with_core:
        return _sources(sketch)
    return [*(p for p in _sources(sketch) if p.suffix == ".c"), BARE_MAIN]


def build_uno(
    model: Model | None,
    fmt: str,
    build_dir: Path,
    *,
    prefix: str = "pixelnet",
    core: bool = True,
    board: str = "uno",
) -> BuildResult:
    """Generate the model, compile the sketch (with the Arduino core or bare) for ``board``
    (a row of the board table, firmware/boards.py), link, make .hex."""
    if fmt not in FORMATS:
        raise PixelnetError(f"unknown number format {fmt!r}; choose one of {', '.join(FORMATS)}")
    check_firmware_prefix(prefix)
    row = board_row(board)
    if not core and row.mcu not in BARE_MCUS:
        raise PixelnetError(f"--no-core is for the {', '.join(BARE_MCUS)} only, not the "
                            f"{row.title}'s {row.mcu}")
    tools = find_toolchain(with_core=core)
    build_dir = make_dirs(build_dir, "build directory")
    sketch = export_sketch(model or default_model(), fmt, build_dir / SKETCH_NAME, prefix)
    libraries = [str(build_core(tools, row, build_dir))] if core else []
    ours = [*OUR_FLAGS, *sketch_defines(prefix, firmware_version()), *board_defines(row),
            f"-I{sketch}", *tools.core_includes(row)]
    link = list(link_flags(row))
    if tools.mcu_section_dir is not None:
        ours += ["-DPN_EMBED_MCU_INFO", f"-isystem{tools.mcu_section_dir}"]
        link += MCU_SECTION_LINK_FLAGS
    obj_dir = build_dir / ("obj" if core else "obj-bare")
    obj_dir.mkdir(exist_ok=True)
    objects = []
    for source in _our_sources(sketch, core):
        obj = obj_dir / f"{source.name}.o"
        _run(compile_command(tools, row, source, obj, ours))
        objects.append(str(obj))
    stem = SKETCH_NAME if core else f"{SKETCH_NAME}_bare"
    elf, hex_file = build_dir / f"{stem}.elf", build_dir / f"{stem}.hex"
    _run([tools.gcc, *link, "-o", str(elf), *objects, *libraries, "-lm"])
    _run([tools.objcopy, "-O", "ihex", "-j", ".text", "-j", ".data", str(elf), str(hex_file)])
    size = subprocess.run([tools.size, "-A", str(elf)], capture_output=True, text=True, check=True)
    flash, ram = parse_avr_size(size.stdout)
    return BuildResult(elf=elf, hex=hex_file, flash_bytes=flash, ram_bytes=ram, sketch_dir=sketch)
