"""Compile a sketch with the Arduino IDE's own build tool, `arduino-builder`.

`pixelnet build` calls avr-gcc itself (see build.py); this is the other path, the
one an Arduino user takes: arduino-builder reads the core's platform.txt and
boards.txt, runs the IDE's sketch preprocessing (prototypes, library discovery
from `#include`), links with LTO. We use it to check that a generated Arduino
library compiles for every board of the board table exactly as the IDE would
compile it.

Debian's arduino-builder finds its ctags recipe in /usr/share/arduino-builder (a
second `-hardware` folder) and Debian's gcc-avr 5.4 lacks DECIMAL_DIG, which the
core's WString.cpp needs: it comes in through `-prefs` as in build.py. The core
is compiled with `-Wall -Wextra` like everything else (`-warnings all`), and a
warning located in one of ``our_dirs`` fails the build: warnings are errors for
our files, not for the core's.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelnet.codegen.toolchain import find_tool
from pixelnet.firmware.build import BuildError, find_arduino_core, parse_avr_size

HARDWARE_DIRS = (Path("/usr/share/arduino/hardware"), Path("/usr/share/arduino-builder"))
CORE_PREFS = ("compiler.cpp.extra_flags=-DDECIMAL_DIG=17",)


@dataclass(frozen=True)
class SketchBuild:
    elf: Path
    hex: Path
    flash_bytes: int
    ram_bytes: int


def _hardware_dirs() -> list[Path]:
    core = find_arduino_core()  # .../hardware/arduino/avr
    dirs = [core.parent.parent, *(d for d in HARDWARE_DIRS[1:] if d.is_dir())]
    return list(dict.fromkeys(dirs))


def builder_command(builder: str, sketch: Path, fqbn: str, build_dir: Path,
                    libraries: Sequence[Path]) -> list[str]:
    """The arduino-builder invocation (pure, so it can be read in a test)."""
    command = [builder, "-compile", "-warnings", "all", "-fqbn", fqbn,
               "-build-path", str(build_dir), "-tools", str(Path(builder).parent)]
    for folder in _hardware_dirs():
        command += ["-hardware", str(folder)]
    for folder in libraries:
        command += ["-libraries", str(folder)]
    for pref in CORE_PREFS:
        command += ["-prefs", pref]
    return [*command, str(sketch)]


def warnings_in(output: str, our_dirs: Sequence[Path]) -> list[str]:
    """The compiler's ``warning:`` lines that point into one of ``our_dirs`` (or into
    arduino-builder's copy of the sketch, which it compiles as ``sketch/*.ino.cpp``)."""
    roots = {str(path) + os.sep for d in our_dirs for path in (Path(d), Path(d).resolve())}
    found = []
    for line in output.splitlines():
        if "warning:" not in line:
            continue
        location = line.split(":", 1)[0]
        in_sketch_copy = f"{os.sep}sketch{os.sep}" in location and ".ino" in location
        if in_sketch_copy or any(location.startswith(root) for root in roots):
            found.append(line)
    return found


def compile_sketch(sketch: Path, fqbn: str, build_dir: Path, *,
                   libraries: Sequence[Path] = (), our_dirs: Sequence[Path] = ()) -> SketchBuild:
    """Compile ``sketch`` (the .ino) for ``fqbn``; BuildError on a compiler error or on any
    warning in ``our_dirs`` (and the sketch's own folder)."""
    builder = find_tool("arduino-builder", "arduino-builder")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    ran = subprocess.run(builder_command(builder, Path(sketch), fqbn, build_dir, libraries),
                         capture_output=True, text=True, check=False)
    output = ran.stdout + ran.stderr
    if ran.returncode != 0:
        raise BuildError(f"arduino-builder failed for {fqbn}:\n{output}")
    ours = warnings_in(output, [*our_dirs, Path(sketch).parent])
    if ours:
        raise BuildError(f"warnings in our files building for {fqbn}:\n" + "\n".join(ours))
    elf = build_dir / f"{Path(sketch).name}.elf"
    size = subprocess.run([find_tool("avr-size", "binutils-avr"), "-A", str(elf)],
                          capture_output=True, text=True, check=True)
    flash, ram = parse_avr_size(size.stdout)
    return SketchBuild(elf=elf, hex=elf.with_suffix(".hex"), flash_bytes=flash, ram_bytes=ram)
