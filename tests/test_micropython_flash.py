"""flash_micropython: the checks before mpremote, and breaking into the REPL on a pty."""

from __future__ import annotations

import os
import sys
import threading
import tty

import pytest

from pixelnet.errors import ToolMissingError
from pixelnet.firmware import flash_micropython as flash
from pixelnet.host.frames import FrameDecoder
from pixelnet.host.messages import Cmd


@pytest.fixture()
def files_dir(tmp_path):
    for name in ("main.py", "pxapp.py", "pixelnet_model.py"):
        (tmp_path / name).write_text("# board file\n")
    (tmp_path / "notes.txt").write_text("not copied\n")
    return tmp_path


def test_board_files_are_the_python_files_of_a_complete_directory(files_dir):
    names = [p.name for p in flash.board_files(files_dir)]
    assert names == ["main.py", "pixelnet_model.py", "pxapp.py"]


def test_precompiled_modules_are_board_files_too(files_dir):
    (files_dir / "pixelnet_model.py").rename(files_dir / "pixelnet_model.mpy")
    (files_dir / "pxapp.py").rename(files_dir / "pxapp.mpy")
    names = [p.name for p in flash.board_files(files_dir)]
    assert names == ["main.py", "pixelnet_model.mpy", "pxapp.mpy"]


def test_an_incomplete_or_missing_directory_is_refused(files_dir):
    (files_dir / "pixelnet_model.py").unlink()
    with pytest.raises(flash.FlashError, match=r"missing pixelnet_model\.py"):
        flash.board_files(files_dir)
    with pytest.raises(flash.FlashError, match="no such directory"):
        flash.board_files(files_dir / "nowhere")


def test_mpremote_installs_the_package_then_resets(files_dir):
    command = flash.mpremote_command("/dev/ttyUSB0", files_dir / "package.json")
    assert command[:5] == [sys.executable, "-m", "mpremote", "connect", "/dev/ttyUSB0"]
    assert command[5:] == ["mip", "install", "--target=", f"{files_dir.as_posix()}/package.json",
                           "+", "reset"]


def test_a_missing_mpremote_is_named(files_dir, monkeypatch):
    monkeypatch.setattr(flash.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolMissingError, match="pip install mpremote"):
        flash.flash_micropython(files_dir, "/dev/ttyUSB0")


def test_a_missing_port_is_named_before_anything_is_sent(files_dir, tmp_path):
    with pytest.raises(flash.FlashError, match="no such serial port"):
        flash.flash_micropython(files_dir, str(tmp_path / "ttyACM9"))


class FakeRepl:
    """A board on a pty that shows the REPL prompt after ``ctrl_c_needed`` Ctrl-C."""

    def __init__(self, ctrl_c_needed: int | None) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.received = bytearray()
        self._needed = ctrl_c_needed
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            self.received += data
            if self._needed is not None and self.received.count(b"\r\x03") >= self._needed:
                os.write(self.master, b"\r\nKeyboardInterrupt\r\n>>> ")
                self._needed = None

    def close(self) -> None:
        os.close(self._slave)
        os.close(self.master)
        self._thread.join(2)


def test_break_into_repl_resets_the_firmware_then_sends_ctrl_c_until_the_prompt():
    board = FakeRepl(ctrl_c_needed=5)
    try:
        flash.break_into_repl(board.port)
    finally:
        board.close()
    frames = FrameDecoder().feed(bytes(board.received).split(b"\r\x03")[0])
    assert [f.type for f in frames] == [Cmd.RESET]
    assert board.received.count(b"\r\x03") >= 5


def test_a_board_that_never_shows_a_prompt_is_an_error(monkeypatch):
    monkeypatch.setattr(flash, "BREAK_TIMEOUT", 0.3)
    board = FakeRepl(ctrl_c_needed=None)
    try:
        with pytest.raises(flash.FlashError, match="no MicroPython REPL prompt"):
            flash.break_into_repl(board.port)
    finally:
        board.close()
