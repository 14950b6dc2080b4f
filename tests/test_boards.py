"""The board table against the Arduino core's own boards.txt; every AVR board built; the
simulated ones (Nano, Mega) verified bit for bit on their virtual board; flash's baud
fallback for the Nano's old bootloader."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelnet.cli import main
from pixelnet.codegen.emulator import infer, quantize_inputs
from pixelnet.codegen.quantize import quantize
from pixelnet.firmware.boards import BOARDS, board_row, simulated_boards
from pixelnet.firmware.build import build_uno, find_arduino_core
from pixelnet.firmware.flash import FlashError, bootloader_port, flash_board
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.host.connect import connect
from pixelnet.host.vectors import random_vectors
from pixelnet.trainer.lesson import lesson_model


def _boards_txt() -> dict[str, str]:
    text = (find_arduino_core() / "boards.txt").read_text()
    pairs = (line.split("=", 1) for line in text.splitlines()
             if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _setting(props: dict[str, str], fqbn: str, key: str) -> str:
    """A board setting as the IDE resolves it: the menu option's value, else the board's."""
    board_id, *options = fqbn.split(":")[2:]
    for option in options:
        menu, choice = option.split("=")
        found = props.get(f"{board_id}.menu.{menu}.{choice}.{key}")
        if found is not None:
            return found
    return props[f"{board_id}.{key}"]


@pytest.mark.parametrize("name", list(BOARDS))
def test_board_table_agrees_with_the_cores_boards_txt(name):
    row, props = BOARDS[name], _boards_txt()
    assert _setting(props, row.fqbn, "build.mcu") == row.mcu
    assert _setting(props, row.fqbn, "build.f_cpu") == f"{row.f_cpu}L"
    assert _setting(props, row.fqbn, "build.variant") == row.variant
    assert f"ARDUINO_{_setting(props, row.fqbn, 'build.board')}" == row.define
    assert _setting(props, row.fqbn, "upload.protocol") == row.avrdude_programmer
    assert int(_setting(props, row.fqbn, "upload.maximum_size")) == row.flash_max
    assert int(_setting(props, row.fqbn, "upload.maximum_data_size")) == row.ram_max
    assert int(_setting(props, row.fqbn, "upload.speed")) == row.upload_bauds[0]
    touch = props.get(f"{row.fqbn.split(':')[2]}.upload.use_1200bps_touch") == "true"
    assert touch == row.touch_1200bps


def test_nano_falls_back_to_the_old_bootloader_baud():
    props = _boards_txt()
    assert props["nano.menu.cpu.atmega328old.upload.speed"] == str(board_row("nano")
                                                                   .upload_bauds[1])


def _port_and_firmware(tmp_path, device: str) -> tuple[Path, Path]:
    """A stand-in serial port (flash checks that it exists) and a firmware file."""
    port = tmp_path / device
    port.touch()
    hex_file = tmp_path / "fw.hex"
    hex_file.write_text(":00000001FF\n")
    return port, hex_file


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_flash_tries_each_baud_until_one_answers(tmp_path):
    port, hex_file = _port_and_firmware(tmp_path, "ttyUSB9")
    tried = []

    def avrdude(command):
        tried.append((_option(command, "-c"), int(_option(command, "-b"))))
        return 0 if tried[-1][1] == 57600 else 1

    assert flash_board(hex_file, str(port), "nano", run=avrdude) == 57600
    assert tried == [("arduino", 115200), ("arduino", 57600)]
    tried.clear()
    with pytest.raises(FlashError, match="exit 1 at 115200 baud"):
        flash_board(hex_file, str(port), "mega", run=lambda command: tried.append(1) or 1)
    assert tried == [1]


class FakeUsb:
    """The serial ports a native-USB board shows while the 1200-baud touch restarts it."""

    def __init__(self, listings: list[list[str]]) -> None:
        self.listings, self.touched, self.slept = listings, [], 0.0

    def ports(self) -> list[str]:
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]

    def touch(self, port: str) -> None:
        self.touched.append(port)

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


def test_the_bootloader_is_the_port_that_appears_after_the_touch():
    usb = FakeUsb([["/dev/ttyS0", "/dev/ttyACM0"], ["/dev/ttyS0"], ["/dev/ttyS0", "/dev/ttyACM1"]])
    assert bootloader_port("/dev/ttyACM0", usb.ports, usb.touch, usb.sleep) == "/dev/ttyACM1"
    assert usb.touched == ["/dev/ttyACM0"]


def test_the_bootloader_may_come_back_on_the_same_port():
    usb = FakeUsb([["/dev/ttyACM0"], ["/dev/ttyACM0"]])
    assert bootloader_port("/dev/ttyACM0", usb.ports, usb.touch, usb.sleep) == "/dev/ttyACM0"
    usb = FakeUsb([["/dev/ttyACM0"], [], ["/dev/ttyACM0"]])  # gone, then back: new again
    assert bootloader_port("/dev/ttyACM0", usb.ports, usb.touch, usb.sleep) == "/dev/ttyACM0"


def test_no_bootloader_after_the_touch_is_a_clear_error():
    usb = FakeUsb([["/dev/ttyACM0"], []])
    with pytest.raises(FlashError, match=r"no bootloader port appeared.*reset button"):
        bootloader_port("/dev/ttyACM0", usb.ports, usb.touch, usb.sleep)
    assert 8 <= usb.slept <= 12  # Caterina waits 8 s for an upload


def test_the_leonardo_is_touched_at_1200_baud_before_avrdude(tmp_path):
    port, hex_file = _port_and_firmware(tmp_path, "ttyACM0")
    commands = []

    def avrdude(command):
        commands.append(command)
        return 0

    assert flash_board(hex_file, str(port), "leonardo", run=avrdude,
                       enter_bootloader=lambda p: p + "-bootloader") == 57600
    assert _option(commands[0], "-P") == f"{port}-bootloader"
    assert _option(commands[0], "-c") == "avr109"
    untouched = flash_board(hex_file, str(port), "uno", run=avrdude,
                            enter_bootloader=lambda p: pytest.fail("the Uno was touched"))
    assert untouched == 115200 and _option(commands[1], "-P") == str(port)


def test_sim_says_plainly_why_the_leonardo_is_not_simulated(tmp_path, capsys):
    assert main(["sim", "--board", "leonardo", "--build-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot be simulated here" in error
    assert "simavr has no USB device" in error and "pixelnet build --board leonardo" in error
    assert not any(tmp_path.iterdir())  # nothing built


def test_unknown_board_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["build", "--board", "due", "--build-dir", str(tmp_path)])
    assert "invalid choice: 'due'" in capsys.readouterr().err


# ---- builds and virtual boards ----


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("boards")
    return {name: build_uno(lesson_model(), "q7", root / name, board=name) for name in BOARDS}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOARDS))
def test_every_board_builds_and_fits(builds, name):
    result, row = builds[name], BOARDS[name]
    assert result.hex.read_text().startswith(":")
    # at most half the board: room for a user's own code (the Leonardo's USB stack is 3 KB)
    assert result.flash_bytes < row.flash_max // 2
    assert result.ram_bytes < min(1024, row.ram_max // 2)
    assert row.mcu.encode() in result.elf.read_bytes()  # simavr's .mmcu stamp


def test_bare_build_is_for_the_atmega328p_only(tmp_path):
    with pytest.raises(Exception, match="--no-core is for the atmega328p"):
        build_uno(lesson_model(), "q7", tmp_path, board="mega", core=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", simulated_boards())
def test_virtual_board_computes_what_the_emulator_does(builds, name, tmp_path):
    qm = quantize(lesson_model(), "q7")
    x = quantize_inputs(qm, random_vectors(50)[0])
    with start_virtual_board(name, firmware=builds[name].elf, state_dir=tmp_path,
                             scene="horizontal_top", build_dir=tmp_path) as board, \
            connect(board.port) as client:
        assert client.info().board == name
        results = client.infer_many(x.tolist())
        assert [list(r.out) for r in results] == infer(qm, x).tolist()
        sample = client.sample()
        assert qm.classes[sample.cls] == "horizontal"


def test_build_command_names_the_board(tmp_path, capsys):
    assert main(["build", "--board", "leonardo", "--build-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Arduino Leonardo / Micro, atmega32u4" in printed
    assert "of 28672 bytes" in printed and "of 2560 bytes" in printed
    assert Path(tmp_path / "leonardo" / "pixelnet_uno.hex").is_file()
