"""Text mode on the virtual Uno and the virtual MicroPython board: a person types into
the port (as the Serial Monitor sends lines), reads classes and outputs that the
emulator confirms, and then the host tool verifies the same board bit for bit as if
nothing had happened."""

from __future__ import annotations

import json
import time

import pytest
from serial_lines import read_lines, scene_outputs, text_line

from pixelnet import codegen
from pixelnet.cli import main
from pixelnet.firmware.build import build_uno
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.firmware.virtual_micropython import prepare_micropython_files
from pixelnet.host.connect import open_port
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model

pytestmark = pytest.mark.slow

LINE_WAIT = 30.0  # s of wall clock for a line (a loaded machine is slow)
SCENE = "diagonal_anti"


def _scene_line(qm, scene: str) -> str:
    return text_line(qm.classes, scene_outputs(qm, scene)[1])


def _lines(port, count: int) -> list[str]:
    return read_lines(port, count, LINE_WAIT)


def _firmware(board: str, model, build_dir):
    if board == "uno":
        return build_uno(model, "q7", build_dir).elf
    return prepare_micropython_files(model, "q7", build_dir / "files")


@pytest.mark.parametrize("name", ["uno", "micropython"])
def test_typed_text_then_the_host_verifies_bit_exact(name, tmp_path, capsys):
    model = lesson_model()
    qm = codegen.quantize(model, "q7")
    firmware = _firmware(name, model, tmp_path / "build")
    model_file = save_model(model, tmp_path / "lesson.json")
    with start_virtual_board(name, firmware=firmware, state_dir=tmp_path / "state", scene=SCENE,
                             build_dir=tmp_path / "build") as board:
        port = open_port(board.port)
        port.timeout = 0.5
        try:
            time.sleep(0.2)
            port.reset_input_buffer()  # the boot banner
            port.write(b"help\r\n")
            info, classes, commands = _lines(port, 3)
            assert info.startswith("pixelnet ") and f"model {qm.model_hash} q7" in info
            assert classes == "class " + ", ".join(f"{i} {c}" for i, c in enumerate(qm.classes))
            assert commands.startswith("commands: help, sample")
            port.write(b"sample\r\n")
            assert _lines(port, 1) == [_scene_line(qm, SCENE)]
            port.write(b"start\r\n")
            assert _lines(port, 3) == [_scene_line(qm, SCENE)] * 3
            port.write(b"oops\r\n")  # in text mode every line gets an answer, and it stops
            answer = _lines(port, 1)  # the lines (one may still have been on its way)
            if answer != ["unknown command; type help"]:
                assert answer == [_scene_line(qm, SCENE)]
                answer = _lines(port, 1)
            assert answer == ["unknown command; type help"]
            port.write(b"start\r\n")
            assert _lines(port, 2) == [_scene_line(qm, SCENE)] * 2
        finally:
            port.close()  # still streaming text lines: the host must cope
        report = tmp_path / "report.json"
        code = main(["verify", "--model", str(model_file), "--port", board.port,
                     "--vectors", "random", "--vector-count", "300", "--samples", "50",
                     "--report", str(report)])
    assert code == 0, capsys.readouterr()
    summary = json.loads(report.read_text())
    assert summary["passed"] and summary["bit_exact_mismatches"] == 0
    assert summary["samples"] == 350  # 300 injected vectors and 50 live samples
