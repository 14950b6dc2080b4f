"""A failed calibration leaves the board's calibration exactly as it was, on both virtual boards."""

from __future__ import annotations

import pytest

from pixelnet.cli import main
from pixelnet.errors import PixelnetError
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.host.calibration import check_pair, mean_counts
from pixelnet.host.client import BoardClient, BoardErrorReply
from pixelnet.host.messages import CalOp, ErrorCode
from pixelnet.trainer.lesson import lesson_model

pytestmark = pytest.mark.slow

OLD_DARK, OLD_BRIGHT = (11, 22, 33, 44), (1001, 1002, 1003, 1004)


@pytest.fixture(scope="module", params=["uno", "micropython"])
def firmware(request, tmp_path_factory):
    build = tmp_path_factory.mktemp(f"{request.param}_build")
    if request.param == "uno":
        from pixelnet.firmware.build import build_uno

        return request.param, build_uno(lesson_model(), "q7", build).elf, build
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    return request.param, prepare_micropython_files(lesson_model(), "q7", build / "f"), build


def _boot(firmware, state):
    kind, files, build = firmware
    return start_virtual_board(kind, firmware=files, state_dir=state, build_dir=build)


def _enter_presses(board, scenes):
    """``input`` for the guided steps: each Enter shows the sensor the next scene."""
    todo = iter(scenes)

    def press(*_):
        board.set_scene(next(todo))
        return ""

    return press


def test_a_failed_bright_step_keeps_the_stored_calibration(firmware, tmp_path, capsys,
                                                           monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    with _boot(firmware, state) as board:
        with BoardClient.open(board.port) as client:
            client.calibrate(CalOp.SET, OLD_DARK, OLD_BRIGHT)
        capsys.readouterr()
        # dark, then a "bright" step with the sensor still covered
        monkeypatch.setattr("builtins.input", _enter_presses(board, ["solid_black"] * 2))
        assert main(["calibrate", "--port", board.port]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "stored calibration is unchanged" in err[0], err
        with BoardClient.open(board.port) as client:
            cal = client.info().calibration
            assert (cal.dark, cal.bright, cal.source_name) == (OLD_DARK, OLD_BRIGHT, "session")
            cal = client.reset().calibration  # the board's own restart
            assert (cal.dark, cal.bright, cal.source_name) == (OLD_DARK, OLD_BRIGHT, "stored")
    with _boot(firmware, state) as board, BoardClient.open(board.port) as client:
        cal = client.info().calibration  # a new board process on the same store
        assert (cal.dark, cal.bright, cal.source_name) == (OLD_DARK, OLD_BRIGHT, "stored")


def test_a_good_guided_calibration_is_stored_whole(firmware, tmp_path, capsys, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    with _boot(firmware, state) as board:
        monkeypatch.setattr("builtins.input",
                            _enter_presses(board, ["solid_black", "solid_white"]))
        assert main(["calibrate", "--port", board.port]) == 0
        with BoardClient.open(board.port) as client:
            cal = client.reset().calibration
    assert cal.source_name == "stored"
    assert all(d < 100 for d in cal.dark) and all(b > 900 for b in cal.bright)


def test_the_micropython_board_survives_an_unwritable_calibration_file(tmp_path):
    from pixelnet.firmware.virtual_micropython import prepare_micropython_files

    files = prepare_micropython_files(lesson_model(), "q7", tmp_path / "files")
    state = tmp_path / "state"
    state.mkdir()
    (state / "pixelnet_cal.bin").mkdir()  # a directory where the file goes: EISDIR
    with (
        start_virtual_board("micropython", firmware=files, state_dir=state) as board,
        BoardClient.open(board.port) as client,
    ):
        before = client.info().calibration
        with pytest.raises(BoardErrorReply) as failed:
            client.calibrate(CalOp.SET, OLD_DARK, OLD_BRIGHT)
        assert failed.value.code == ErrorCode.STORAGE
        assert client.info().calibration == before  # still serving, nothing half-applied
        assert client.infer([0, 0, 0, 0]).cls in range(4)
        assert not (state / "pixelnet_cal.bin.tmp").exists()
        (state / "pixelnet_cal.bin").rmdir()
        assert client.calibrate(CalOp.SET, OLD_DARK, OLD_BRIGHT).dark == OLD_DARK


def test_readings_average_with_rounding_and_the_pair_is_checked_per_pixel():
    assert mean_counts([(1, 2, 3, 4), (2, 2, 3, 5)]) == (2, 2, 3, 5)  # halves round up
    assert mean_counts([(0, 0, 0, 0)] * 2 + [(1, 1, 1, 1)]) == (0, 0, 0, 0)
    check_pair((0, 0, 0, 0), (16, 16, 16, 16))
    with pytest.raises(PixelnetError, match="pixel BL: bright 15 does not exceed dark 0"):
        check_pair((0, 0, 0, 0), (16, 16, 15, 16))
