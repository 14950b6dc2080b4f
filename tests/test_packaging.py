"""The installed names: everything lands under the one `pixelnet` namespace."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[zipfile.ZipFile, str]:
    """The wheel, and everything the build printed."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (path,) = out.glob("pixelnet-*.whl")
    return zipfile.ZipFile(path), done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(built: tuple[zipfile.ZipFile, str]) -> zipfile.ZipFile:
    return built[0]


def test_our_configuration_builds_without_a_warning(built: tuple[zipfile.ZipFile, str]) -> None:
    """Deprecated fields or data folders missing from `packages` make setuptools warn here."""
    output = built[1]
    assert "warning" not in output.lower(), output


def test_wheel_installs_only_the_pixelnet_namespace(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.startswith("pixelnet")} == set()
    for folder in ("trainer", "codegen", "firmware", "host", "bench"):
        assert f"pixelnet/{folder}/__init__.py" in wheel.namelist()


def test_wheel_carries_the_non_python_files_the_tools_need(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "pixelnet/firmware/PROTOCOL.md" in names
    assert any(n.startswith("pixelnet/codegen/templates/") and n.endswith(".jinja") for n in names)
    assert any(n.startswith("pixelnet/firmware/arduino/") and n.endswith(".ino") for n in names)
    assert any(n.startswith("pixelnet/firmware/micropython/") and n.endswith("main.py")
               for n in names)
    assert any(n.startswith("pixelnet/firmware/sim/") and n.endswith(".c") for n in names)
    assert "pixelnet/bench/avr/driver.c" in names  # `pixelnet bench` compiles it for the AVR
    for name in ("cortex_m.ld", "startup.c", "pn_lm3s6965.c"):  # build --board cortex-m3
        assert f"pixelnet/firmware/cortex/{name}" in names
    for name in ("pipe_sim.c", "arm_start.c", "arm.ld"):  # the ATtiny85 and Cortex-M runners
        assert f"pixelnet/codegen/targets/{name}" in names


def test_console_script_is_declared(wheel: zipfile.ZipFile) -> None:
    (entry,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "pixelnet = pixelnet.command:run" in wheel.read(entry).decode()
