"""The host commands end to end on a Python board: exit codes, reports, logs, bad input."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.host.connect import auto_detect, find_candidates
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.trainer.data import load_recordings
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model, save_model
from pixelnet.trainer.patterns import CLASSES

VERTICAL_LEFT = (900, 60, 900, 60)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_model(lesson_model(), tmp_path_factory.mktemp("model") / "lesson.json")


@pytest.fixture()
def board():
    with FakeBoard(EmulatorArithmetic(quantize(lesson_model(), "q7")), adc=VERTICAL_LEFT) as b:
        yield b


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_verify_passes_and_writes_report_and_log(board, model_file, tmp_path, capsys):
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    code = main(["verify", "--model", str(model_file), "--port", board.port, "--samples", "200",
                 "--vectors", "random", "--vector-count", "500", "--scene-label",
                 "vertical_left", "--max-error", "0.5", "--report", str(report),
                 "--log", str(log)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS" in out and "bit-exact mismatches  0" in out and "confusion" in out
    data = json.loads(report.read_text())
    assert data["samples"] == 700 and data["passed"]
    assert data["phases"][0]["correct"] == data["phases"][0]["labelled"] == 200
    assert len(list(csv.DictReader(log.open()))) == 700


def test_verify_against_another_model_names_both_hashes(board, tmp_path, capsys):
    lesson = lesson_model()
    other = Model(tuple(Layer(la.weights * 0.5, la.biases, la.activation) for la in lesson.layers))
    path = save_model(other, tmp_path / "other.json")
    assert main(["verify", "--model", str(path), "--port", board.port]) == 2
    line = _one_error_line(capsys)
    assert lesson.short_hash in line and other.short_hash in line


def test_verify_wrong_format_is_refused(board, model_file, capsys):
    args = ["verify", "--model", str(model_file), "--port", board.port, "--format", "q15"]
    assert main(args) == 2
    assert "q7" in _one_error_line(capsys)


def test_wrong_port_is_one_line(model_file, capsys):
    assert main(["verify", "--model", str(model_file), "--port", "/dev/no-such-tty"]) == 2
    assert "cannot open /dev/no-such-tty: no such port" in _one_error_line(capsys)


def test_busy_port_is_one_line(board, model_file, capsys):
    from pixelnet.host.connect import open_port

    holder = open_port(board.port)
    try:
        assert main(["verify", "--model", str(model_file), "--port", board.port]) == 2
        assert "port busy" in _one_error_line(capsys)
    finally:
        holder.close()


def test_silent_board_is_one_line(model_file, capsys):
    master, slave = os.openpty()
    try:
        args = ["verify", "--model", str(model_file), "--port", os.ttyname(slave)]
        assert main(args) == 2
        assert "no pixelnet board answered" in _one_error_line(capsys)
    finally:
        os.close(master)
        os.close(slave)


def test_missing_model_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    missing = str(tmp_path / "nope.json")
    assert main(["verify", "--model", missing, "--port", "loop://"]) == 2
    assert "no such model file" in _one_error_line(capsys)
    with pytest.raises(Exception, match="no such model file"):
        main(["--debug", "verify", "--model", missing, "--port", "loop://"])


@pytest.mark.parametrize(
    "extra",
    [["--samples", "0"], ["--seconds", "-1"], ["--max-error", "nan"], ["--scene-label", "cat"],
     ["--samples", "5", "--seconds", "2"]],
)
def test_out_of_range_arguments_exit_2(model_file, extra, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--model", str(model_file), *extra])
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_bad_vectors_file_is_one_line(board, model_file, capsys):
    args = ["verify", "--model", str(model_file), "--port", board.port, "--vectors", "nofile.csv"]
    assert main(args) == 2
    assert "not grid, random or an existing CSV file" in _one_error_line(capsys)


def test_record_writes_what_the_trainer_reads(board, tmp_path, capsys):
    out = tmp_path / "rec.csv"
    code = main(["record", "--port", board.port, "--label", "vertical", "--samples", "30",
                 "--out", str(out)])
    assert code == 0
    x, y = load_recordings([out])
    assert x.shape == (30, 4) and (y == CLASSES.index("vertical")).all()
    assert (x[:, 0] > 0.7).all() and (x[:, 1] < -0.7).all()


def test_calibrate_measures_dark_then_bright(board, capsys, monkeypatch):
    monkeypatch.setattr("builtins.input", _sequence(board))
    assert main(["calibrate", "--port", board.port]) == 0
    out = capsys.readouterr().out
    assert "calibration stored on the board (kept across restarts): dark [30, 31, 32, 33], " \
        "bright [850, 860, 870, 880]" in out
    assert "reading (TL TR BL BR):   30   31   32   33" in out
    # a pseudo-terminal is a virtual board: the steps say what to type into `pixelnet sim`
    assert "(a virtual board: type `light 0` into its pixelnet sim terminal)" in out


def _sequence(board):
    """Enter presses: the first with the sensor covered, the second with it lit."""
    steps = iter([(30, 31, 32, 33), (850, 860, 870, 880)])

    def press(*_):
        board.set_adc(next(steps))
        return ""

    return press


def test_calibrate_without_a_terminal_asks_for_yes(board, capsys, monkeypatch):
    def eof(*_):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert main(["calibrate", "--port", board.port]) == 2
    assert "--yes" in _one_error_line(capsys)


def test_monitor_draws_the_image_and_the_classes(board, model_file, capsys):
    assert main(["monitor", "--model", str(model_file), "--port", board.port,
                 "--samples", "5"]) == 0
    screen = capsys.readouterr().out.split("\x1b[H\x1b[J")[-1]
    assert "█" * 6 in screen and "board: vertical" in screen and "bit-exact" in screen


def test_auto_detect_needs_exactly_one_known_board():
    class Port:
        def __init__(self, device, vid, pid):
            self.device, self.vid, self.pid = device, vid, pid

    uno, ch340, mouse = Port("/dev/a", 0x2341, 0x0043), Port("/dev/b", 0x1A86, 0x7523), Port(
        "/dev/c", 0x046D, 0xC077)
    assert auto_detect([uno, mouse]) == "/dev/a"
    assert [c.device for c in find_candidates([uno, ch340, mouse])] == ["/dev/a", "/dev/b"]
    with pytest.raises(Exception, match="no board found"):
        auto_detect([mouse])
    with pytest.raises(Exception, match=r"several boards found: /dev/a .*, /dev/b"):
        auto_detect([uno, ch340])


def test_sigterm_leaves_a_valid_log_and_a_report(board, model_file, tmp_path):
    log, report = tmp_path / "l.csv", tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelnet", "verify", "--model", str(model_file), "--port",
         board.port, "--seconds", "60", "--log", str(log), "--report", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or log.stat().st_size < 2000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    rows = list(csv.DictReader(log.open()))
    assert rows and all(r["exact"] == "1" and r["stage"] == "" for r in rows)
    data = json.loads(report.read_text())
    assert data["aborted"] == "interrupted" and data["samples"] == len(rows)


def test_verify_and_record_say_how_far_they_are_in_a_log(board, model_file, tmp_path, capsys,
                                                          monkeypatch):
    monkeypatch.setattr("pixelnet.progress.PERIOD", 0.0)  # a line per batch, not per 5 s
    assert main(["verify", "--port", board.port, "--model", str(model_file), "--vectors",
                 "random", "--vector-count", "300", "--samples", "100"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert lines and all(line.startswith("verifying ") for line in lines)
    assert lines[-1].startswith("verifying 400/400, 0 mismatches")
    assert main(["record", "--port", board.port, "--label", "vertical", "--samples", "50",
                 "--out", str(tmp_path / "r.csv")]) == 0
    assert "recording 50/50" in capsys.readouterr().err


def test_monitor_frames_the_image_and_shows_black_pixels():
    from pixelnet.host.monitor import framed_image

    picture = framed_image([1.0, -1.0, 1.0, -1.0])  # vertical_left: white left, black right
    assert picture == [
        "┌──────┬──────┐",
        "│██████│······│",
        "│██████│······│",
        "├──────┼──────┤",
        "│██████│······│",
        "│██████│······│",
        "└──────┴──────┘",
    ]
