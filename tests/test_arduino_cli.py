"""`pixelnet build` / `pixelnet flash` for the Uno, the pure parts of build.py, the bench."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelnet.bench import bench_firmware
from pixelnet.bench.cycle_floor import cycle_floor
from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.errors import ToolMissingError
from pixelnet.firmware.build import (
    BuildError,
    firmware_version,
    parse_avr_size,
    sketch_defines,
)
from pixelnet.firmware.flash import FlashError, avrdude_command, flash_uno
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model

AVR_SIZE_OUTPUT = """\
pixelnet_uno.elf  :
section                    size      addr
.data                        34   8388864
.mmcu                        74   9502720
.text                      6202         0
.bss                        418   8388898
.comment                     17         0
Total                      6745
"""


def test_avr_size_counts_flash_and_ram():
    assert parse_avr_size(AVR_SIZE_OUTPUT) == (6202 + 34, 34 + 418)
    with pytest.raises(BuildError, match=r"no \.text"):
        parse_avr_size("garbage")


def test_firmware_version_and_defines():
    assert firmware_version("1.22.3rc1") == (1, 22, 3)
    with pytest.raises(ValueError, match=r"major\.minor\.patch"):
        firmware_version("dev")
    defines = sketch_defines("cam", (1, 2, 3))
    assert '-DPN_MODEL_HEADER="cam_model.h"' in defines
    assert {"-DPN_PREFIX=cam", "-DPN_PREFIX_UPPER=CAM", "-DPN_FW_MINOR=2"} <= set(defines)


def test_avrdude_command_matches_the_uno_bootloader():
    command = avrdude_command("avrdude", "/dev/ttyACM0", Path("fw.hex"))
    assert command == ["avrdude", "-c", "arduino", "-p", "atmega328p", "-b", "115200",
                       "-P", "/dev/ttyACM0", "-D", "-U", "flash:w:fw.hex:i"]


def test_flash_names_what_is_missing(tmp_path, monkeypatch):
    port = tmp_path / "ttyFAKE"
    with pytest.raises(FlashError, match="does not exist"):
        flash_uno(tmp_path / "fw.hex", str(port))
    port.touch()
    with pytest.raises(FlashError, match="pixelnet build"):
        flash_uno(tmp_path / "fw.hex", str(port))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="avrdude"):
        flash_uno(tmp_path / "fw.hex", str(port))


def test_build_command_prints_sizes(tmp_path, capsys):
    model_file = save_model(lesson_model(), tmp_path / "lesson.json")
    out = tmp_path / "out"
    code = main(["build", "--board", "uno", "--model", str(model_file), "--format", "q15",
                 "--build-dir", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert (out / "uno" / "pixelnet_uno.hex").is_file()
    assert "flash:" in printed and "of 32256 bytes" in printed and "RAM:" in printed


def test_build_without_the_core(tmp_path, capsys):
    assert main(["build", "--board", "uno", "--no-core", "--build-dir", str(tmp_path)]) == 0
    assert (tmp_path / "uno" / "pixelnet_uno_bare.hex").is_file()
    assert "pixelnet_uno_bare.hex" in capsys.readouterr().out


def test_build_and_flash_errors_are_one_line(tmp_path, capsys):
    assert main(["build", "--board", "uno", "--model", str(tmp_path / "none.json"),
                 "--build-dir", str(tmp_path)]) == 2
    assert main(["flash", "--board", "uno", "--port", str(tmp_path / "ttyNONE"),
                 "--build-dir", str(tmp_path)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and "none.json" in errors[0] and "ttyNONE" in errors[1]
    assert not (tmp_path / "uno").exists()  # flash checked its port before building


def test_bench_limits():
    assert bench_firmware.sample_frame_bytes() == 31
    assert bench_firmware.line_limit(31) == pytest.approx(11520 / 31)
    assert bench_firmware.adc_limit() == pytest.approx(1 / (4 * 13 * 128 / 16e6))
    assert bench_firmware.adc_limit(4) == pytest.approx(bench_firmware.adc_limit() / 4)
    assert bench_firmware.simavr_line_limit(31) == pytest.approx(1e6 / 93 / 31)


@pytest.mark.slow
def test_bench_meets_its_targets(tmp_path):
    result = bench_firmware.run(quick=True, build_dir=tmp_path)
    assert result["targets_met"] == {
        "stream_90_percent": True, "flash_12k": True, "ram_1k_with_stack": True
    }
    assert result["stream_samples_per_s_simulated"] <= result["limits_samples_per_s"]["line"]
    cycles = result["cycles_per_inference"]
    # below the floor of the network's shape the marker measured nothing
    floor = cycle_floor(quantize(lesson_model(), "q7"), in_flash=True)
    assert floor <= cycles["min"] <= cycles["mean"] <= cycles["max"]
