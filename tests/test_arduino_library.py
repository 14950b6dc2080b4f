"""`pixelnet generate --target arduino-library`: the layout the Arduino specification
asks for, a PlatformIO manifest with PlatformIO's documented fields, the example
compiled by the real Arduino build tool (arduino-builder) for every board of the
board table, and the Uno build run on the virtual Uno against the integer emulator.

PlatformIO itself cannot run here (it downloads its toolchains): its manifest is
checked against the fields PlatformIO documents for library.json.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serial_lines import read_lines, scene_outputs

from pixelnet import codegen
from pixelnet.cli import main
from pixelnet.codegen.arduino_library import (
    EXAMPLE,
    c_string,
    library_version,
    platformio_name,
)
from pixelnet.codegen.toolchain import find_tool
from pixelnet.firmware.arduino_builder import compile_sketch, warnings_in
from pixelnet.firmware.boards import BOARDS
from pixelnet.firmware.build import BuildError
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.host.connect import open_port
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model
from pixelnet.trainer.patterns import SCENES, scene_class

# library.properties (Arduino library specification, rev. 2.2)
# every field not marked optional is required, url among them
REQUIRED_PROPERTIES = {"name", "version", "author", "maintainer", "sentence", "paragraph",
                       "category", "url", "architectures"}
CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control",
              "Timing", "Data Storage", "Data Processing", "Other"}
LIBRARY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*\Z")
URL = re.compile(r"https?://[^\s/]+\.[^\s/]+/\S*\Z")
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)\Z")
# library.json: the fields PlatformIO's manifest documentation lists
PLATFORMIO_FIELDS = {"name", "version", "description", "keywords", "authors", "repository",
                     "license", "homepage", "headers", "frameworks", "platforms", "export",
                     "examples", "dependencies", "build"}
PLATFORMIO_AUTHOR_FIELDS = {"name", "email", "url", "maintainer"}
PLATFORMIO_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")  # at most 50 characters
PLATFORMIO_BUILD_FIELDS = {"flags", "unflags", "includeDir", "srcDir", "srcFilter",
                           "extraScript", "libArchive", "libLDFMode", "libCompatMode"}
LINE_WAIT = 30.0  # s of wall clock for the lines of one scene (a loaded machine is slow)
SETTLE_LINES = 2  # lines printed while the scene changed under the running loop


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """The lesson network as a library, written by the command line."""
    root = tmp_path_factory.mktemp("arduino_library")
    model_path = root / "lesson.json"
    save_model(lesson_model(), model_path)
    assert main(["generate", "--model", str(model_path), "--target", "arduino-library",
                 "--out-dir", str(root / "libraries" / "pixelnet")]) == 0
    return root / "libraries" / "pixelnet"


def _properties(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if line.strip()]
    return {key: value for key, value in pairs}


def test_library_properties_follow_the_specification(library):
    props = _properties(library / "library.properties")
    assert set(props) >= REQUIRED_PROPERTIES
    assert LIBRARY_NAME.match(props["name"]) and props["name"] == "pixelnet"
    assert SEMVER.match(props["version"])
    assert props["category"] in CATEGORIES
    assert URL.match(props["url"])
    assert props["includes"] == "pixelnet.h"
    assert (library / "src" / props["includes"]).is_file()


def test_version_comes_from_the_model_hash():
    qm = codegen.quantize(lesson_model(), "q7")
    version = library_version(qm.model_hash)
    assert SEMVER.match(version)
    assert f"{int(version.split('.')[2]):07x}" == qm.model_hash[:7]
    assert library_version("0000001ffff") == "0.1.1"  # no leading zeros


def test_layout_keywords_and_zip(library):
    assert (library / "examples" / EXAMPLE / f"{EXAMPLE}.ino").is_file()
    for name in ("pixelnet.h", "pixelnet.c", "pixelnet_model.h", "pixelnet_model.c"):
        assert (library / "src" / name).is_file()
    keywords = [line.split("\t") for line in (library / "keywords.txt").read_text().splitlines()
                if line and not line.startswith("#")]
    assert all(len(k) == 2 and k[1] in ("KEYWORD1", "KEYWORD2", "LITERAL1") for k in keywords)
    assert ["pixelnet_classify", "KEYWORD2"] in keywords
    with zipfile.ZipFile(library.with_name("pixelnet.zip")) as archive:
        names = archive.namelist()
    assert {n.split("/")[0] for n in names} == {"pixelnet"}
    assert sorted(names) == sorted(f"pixelnet/{p.relative_to(library).as_posix()}"
                                   for p in library.rglob("*") if p.is_file())


def test_platformio_manifest_uses_documented_fields(library):
    manifest = json.loads((library / "library.json").read_text())
    assert set(manifest) <= PLATFORMIO_FIELDS
    assert manifest["name"] == "pixelnet"
    props = _properties(library / "library.properties")
    assert manifest["version"] == props["version"]
    assert manifest["homepage"] == props["url"]
    assert len(manifest["version"]) <= 20 and len(manifest["description"]) <= 255
    assert all(set(a) <= PLATFORMIO_AUTHOR_FIELDS for a in manifest["authors"])
    assert set(manifest["build"]) <= PLATFORMIO_BUILD_FIELDS
    assert (library / manifest["build"]["srcDir"] / manifest["headers"]).is_file()
    assert all((library / e).is_file() for e in manifest["examples"])


def test_platformio_names_are_slugs():
    for prefix in ("pixelnet", "My_Cam", "a__b_", "x" * 24):
        name = platformio_name(prefix)
        assert PLATFORMIO_NAME.match(name) and len(name) <= 50
    assert platformio_name("My_Cam") == "my-cam"


def test_header_exports_names_scale_and_hash(library, tmp_path):
    """A host program prints what the header exports; it must be the model's."""
    qm = codegen.quantize(lesson_model(), "q7")
    main_c = tmp_path / "main.c"
    main_c.write_text(
        '#include <stdio.h>\n#include "pixelnet.h"\n'
        "int main(void) {\n"
        '    printf("%s %.9g %d\\n", PIXELNET_MODEL_HASH, (double)PIXELNET_OUTPUT_SCALE,\n'
        "           PIXELNET_N_CLASSES);\n"
        "    for (int i = 0; i < PIXELNET_N_CLASSES; i++) puts(pixelnet_class_names[i]);\n"
        "    return 0;\n}\n")
    exe = tmp_path / "exports"
    subprocess.run([find_tool("gcc", "gcc"), "-std=c99", "-Wall", "-Wextra", "-Werror",
                    f"-I{library / 'src'}", str(main_c), str(library / "src" / "pixelnet.c"),
                    str(library / "src" / "pixelnet_model.c"), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    first, *names = lines.splitlines()
    scale = 2.0 ** -qm.layers[-1].out_frac
    assert first.split() == [qm.model_hash, f"{scale:.9g}", str(qm.n_outputs)]
    assert tuple(names) == qm.classes


def test_class_names_become_safe_c_strings(tmp_path):
    tricky = 'a "quoted" \\ name??= é\n'
    source = tmp_path / "s.c"
    source.write_text(f'#include <stdio.h>\nint main(void) {{ fputs({c_string(tricky)}, stdout); '
                      "return 0; }\n")
    exe = tmp_path / "s"
    subprocess.run([find_tool("gcc", "gcc"), "-std=c99", "-trigraphs", "-Wall", "-Werror",
                    str(source), "-o", str(exe)], check=True)
    assert subprocess.run([str(exe)], capture_output=True, check=True).stdout == tricky.encode()


def test_only_warnings_in_our_files_count(tmp_path):
    ours = tmp_path / "lib"
    output = (f"{ours}/src/x.c:3:5: warning: unused variable 'y'\n"
              "/usr/share/arduino/hardware/arduino/avr/cores/arduino/new.cpp:59:60: warning: "
              "unused parameter 'tag'\n"
              "/tmp/b/sketch/Classify.ino.cpp:9:1: warning: something\n")
    assert len(warnings_in(output, [ours])) == 2


# ---- the real Arduino build tool, every board of the table ----


@pytest.fixture(scope="module")
def builds(library, tmp_path_factory):
    """The example compiled by arduino-builder for every board, two at a time."""
    work = tmp_path_factory.mktemp("arduino_builder")
    sketch = library / "examples" / EXAMPLE / f"{EXAMPLE}.ino"

    def one(name: str):
        return compile_sketch(sketch, BOARDS[name].fqbn, work / name,
                              libraries=[library.parent], our_dirs=[library])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(BOARDS, pool.map(one, BOARDS), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOARDS))
def test_example_compiles_with_arduino_builder(builds, name):
    """Compiled without a warning in our files; flash and RAM as avr-size reads them."""
    result = builds[name]
    assert result.hex.read_text().startswith(":")
    assert 0 < result.flash_bytes < 8 * 1024
    assert 0 < result.ram_bytes < 1024


@pytest.mark.slow
def test_a_warning_in_our_files_fails_the_build(library, tmp_path):
    """The real tool's output, not a sample of it: an unused variable in the example."""
    copy = tmp_path / "libraries" / "pixelnet"
    shutil.copytree(library, copy)
    sketch = copy / "examples" / EXAMPLE / f"{EXAMPLE}.ino"
    text = sketch.read_text().replace("void loop()\n{", "void loop()\n{\n    int probe;")
    sketch.write_text(text)
    with pytest.raises(BuildError, match=r"warnings in our files[^\n]*\n.*Classify.*probe"):
        compile_sketch(sketch, BOARDS["uno"].fqbn, tmp_path / "build", libraries=[copy.parent],
                       our_dirs=[copy])


@pytest.mark.slow
def test_uno_example_prints_what_the_emulator_computes(builds, tmp_path):
    """The library example (arduino-builder's ELF) on the virtual Uno, scene after scene:
    every line's outputs and class are the emulator's on that scene's ADC counts."""
    qm = codegen.quantize(lesson_model(), "q7")
    with start_virtual_board("uno", firmware=builds["uno"].elf,
                             state_dir=tmp_path / "state") as board:
        port = open_port(board.port)
        port.timeout = 0.5
        try:
            for scene in SCENES:
                board.set_scene(scene)
                port.reset_input_buffer()
                lines = read_lines(port, SETTLE_LINES + 3, LINE_WAIT)[SETTLE_LINES:]
                cls, out = scene_outputs(qm, scene)
                assert cls == scene_class(scene)
                expected = " ".join(f"{c}:{v}" for c, v in zip(qm.classes, out, strict=True))
                assert lines == [f"{expected} class:{cls}"] * 3, scene
        finally:
            port.close()
