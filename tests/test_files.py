"""The atomic writer never follows a planted name, and outputs are checked before work."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pixelnet.codegen import generate
from pixelnet.errors import PixelnetError
from pixelnet.files import check_output_dir, check_writable, make_dirs, write_atomically
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import ModelFileError, load_model, save_model


@pytest.mark.parametrize("planted", ["out.json.tmp", "out.json"],
                         ids=["at-the-old-temporary-name", "at-the-target"])
def test_a_planted_symlink_is_never_written_through(tmp_path: Path, planted: str) -> None:
    victim = tmp_path / "v"
    victim.write_text("precious\n")
    (tmp_path / planted).symlink_to(victim)
    save_model(lesson_model(), tmp_path / "out.json")
    assert victim.read_text() == "precious\n"
    assert (tmp_path / "out.json").is_file() and not (tmp_path / "out.json").is_symlink()
    assert load_model(tmp_path / "out.json").hash == lesson_model().hash


def test_generated_code_ignores_planted_symlinks_too(tmp_path: Path) -> None:
    victim = tmp_path / "v"
    victim.write_text("precious\n")
    out = tmp_path / "gen"
    out.mkdir()
    for name in ("pixelnet_model.h", "pixelnet_model.h.tmp", "pixelnet_model.c.tmp"):
        (out / name).symlink_to(victim)
    paths = generate(lesson_model(), target="c", fmt="q7", out_dir=out)
    assert victim.read_text() == "precious\n"
    for path in paths:
        assert path.is_file() and not path.is_symlink()
    assert "pixelnet_model.h" in {p.name for p in paths}


def test_the_file_gets_the_usual_permissions_and_no_temporary_is_left(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(ModelFileError, match="cannot write model file"):
        save_model(lesson_model(), tmp_path / "d")  # a directory where the file should go
    assert [p.name for p in tmp_path.iterdir()] == ["d"] and not any((tmp_path / "d").iterdir())


@pytest.mark.parametrize(
    ("layout", "target", "message"),
    [
        ("file f", "f/m.json", "f is not a directory"),
        ("file f", "f/sub/m.json", "f is not a directory"),
        ("dir d", "d", "it is a directory"),
        ("link dangling", "dangling/m.json", "dangling is not a directory"),
    ],
)
def test_check_writable_refuses_before_any_work(tmp_path: Path, layout: str, target: str,
                                                message: str) -> None:
    kind, name = layout.split()
    if kind == "file":
        (tmp_path / name).write_text("keep")
    elif kind == "dir":
        (tmp_path / name).mkdir()
    else:
        (tmp_path / name).symlink_to(tmp_path / "nowhere")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(PixelnetError, match=message):
        check_writable(tmp_path / target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_check_writable_accepts_a_path_whose_folders_do_not_exist_yet(tmp_path: Path) -> None:
    check_writable(tmp_path / "a" / "b" / "m.json")
    check_output_dir(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()


def test_check_output_dir_and_make_dirs_refuse_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("keep")
    with pytest.raises(PixelnetError, match="not a directory"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(PixelnetError, match="cannot create"):
        make_dirs(tmp_path / "f" / "sub")
    assert (tmp_path / "f").read_text() == "keep"


def test_a_streamed_log_replaces_a_planted_symlink_and_is_valid_at_once(tmp_path: Path) -> None:
    from pixelnet.files import open_for_streaming

    victim = tmp_path / "v"
    victim.write_text("precious\n")
    (tmp_path / "log.csv").symlink_to(victim)
    with open_for_streaming(tmp_path / "log.csv") as fh:
        fh.write("header\n")
        fh.flush()
        assert (tmp_path / "log.csv").read_text() == "header\n"  # readable while written
    assert victim.read_text() == "precious\n" and not (tmp_path / "log.csv").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv", "v"]


def test_a_pipe_at_the_target_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    import threading

    from pixelnet.files import open_for_streaming

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:
            received.append(fh.read())

    for write in (lambda: write_atomically(fifo, "whole\n"),
                  lambda: open_for_streaming(fifo).close()):
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        write()
        reader.join(timeout=60)
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received == [b"whole\n", b""]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("name", ["a" * 300, "d/" + "a" * 300, "/".join(["a" * 200] * 25)],
                         ids=["name-too-long", "in-a-folder", "path-too-long"])
def test_a_name_the_system_cannot_hold_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(PixelnetError, match=r"cannot write report .*too long"):
        check_writable(tmp_path / name, "report")
    with pytest.raises(PixelnetError, match=r"cannot use as build directory .*too long"):
        check_output_dir(tmp_path / name, "build directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_the_writers_make_the_folders_check_writable_accepted(tmp_path: Path) -> None:
    from pixelnet.files import open_for_streaming

    target = tmp_path / "a" / "b" / "plot.png"
    check_writable(target)
    assert write_atomically(target, b"png").read_bytes() == b"png"
    log = tmp_path / "c" / "log.csv"
    check_writable(log)
    open_for_streaming(log).close()
    assert log.is_file()
