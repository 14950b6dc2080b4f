"""Virtual boards are found like boards on USB: registered while they run, listed by
`pixelnet boards`, auto-detected by the board commands, never flashed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict

import pytest

from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.host.connect import auto_detect
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.registry import (
    VirtualPort,
    registered,
    registry_dir,
    running_virtual_boards,
    virtual_board_on,
)
from pixelnet.trainer.lesson import lesson_model

VERTICAL_LEFT = (900, 60, 900, 60)


@pytest.fixture()
def board():
    """A protocol-exact board on a pseudo-terminal, registered as `pixelnet sim` does."""
    with FakeBoard(EmulatorArithmetic(quantize(lesson_model(), "q7")), adc=VERTICAL_LEFT) as b:
        entry = VirtualPort(b.port, "uno", "pixelnet_uno.elf", os.getpid())
        with registered(entry):
            yield b


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_the_registry_is_the_tests_own(tmp_path_factory) -> None:
    assert str(registry_dir()).startswith(str(tmp_path_factory.getbasetemp()))


def test_registered_while_running_and_gone_after(board) -> None:
    (entry,) = running_virtual_boards()
    assert entry.port == board.port and entry.pid == os.getpid()
    assert virtual_board_on(board.port) == entry
    assert virtual_board_on("/dev/ttyACM0") is None


def test_registration_ends_with_the_block(tmp_path) -> None:
    with FakeBoard(EmulatorArithmetic(quantize(lesson_model(), "q7"))) as b:
        with registered(VirtualPort(b.port, "uno", "x.elf", os.getpid())) as path:
            assert path.is_file()
        assert not path.exists() and running_virtual_boards() == []


def test_stale_entries_are_pruned(board) -> None:
    dead = VirtualPort(board.port.replace("pts/", "pts/9"), "uno", "x.elf", os.getpid())
    crashed = VirtualPort(board.port, "micropython", "files", _dead_pid())
    for stale in (dead, crashed):
        path = registry_dir() / f"{stale.pid}-stale.json"
        path.write_text(json.dumps(asdict(stale)))
    (registry_dir() / "garbage.json").write_text("{not json")
    assert [e.port for e in running_virtual_boards()] == [board.port]
    assert sorted(p.name for p in registry_dir().iterdir()) == [f"{os.getpid()}-"
                                                               f"{board.port.split('/')[-1]}.json"]


def test_auto_detect_finds_the_running_virtual_board(board) -> None:
    assert auto_detect([]) == board.port


def test_two_boards_are_a_choice_for_the_user(board) -> None:
    with (FakeBoard(EmulatorArithmetic(quantize(lesson_model(), "q7"))) as other,
          registered(VirtualPort(other.port, "micropython", "f", os.getpid())),
          pytest.raises(Exception, match=r"several boards found.*--port")):
        auto_detect([])


def test_board_commands_need_no_port(board, tmp_path, capsys) -> None:
    out = tmp_path / "rec.csv"
    assert main(["record", "--label", "vertical", "--samples", "20", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 21


def test_boards_lists_port_kind_firmware_and_model(board, capsys) -> None:
    assert main(["boards"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["PORT", "KIND", "BOARD", "FIRMWARE", "FORMAT", "MODEL"]
    assert row.startswith(board.port)
    assert f"virtual uno (pixelnet sim, pid {os.getpid()})" in row
    assert row.split()[-2:] == ["q7", lesson_model().short_hash]


def test_boards_says_how_to_get_one_when_there_is_none(capsys) -> None:
    assert main(["boards"]) == 0
    assert "pixelnet sim --board uno" in capsys.readouterr().out


def test_a_silent_port_is_listed_with_the_reason_quickly(tmp_path, capsys) -> None:
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        with registered(VirtualPort(port, "uno", "x.elf", os.getpid())):
            assert main(["boards"]) == 0
        row = capsys.readouterr().out.splitlines()[1]
        assert row.startswith(port) and "no answer" in row
    finally:
        os.close(master)
        os.close(slave)


def test_flash_refuses_a_virtual_board_at_once(board, capsys) -> None:
    assert main(["flash", "--board", "uno", "--lesson"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # the refusal alone, not "flashing the board on …" before it
    assert f"{board.port} is the virtual uno (pixelnet sim, pid {os.getpid()})" in err[0]
    assert "pixelnet sim --board uno --lesson" in err[0]


def test_flash_refuses_any_pseudo_terminal(tmp_path, capsys) -> None:
    with FakeBoard(EmulatorArithmetic(quantize(lesson_model(), "q7"))) as b:
        assert main(["flash", "--board", "micropython", "--port", b.port,
                     "--model", "m.json"]) == 2
    err = capsys.readouterr().err
    assert "a pseudo-terminal, not a USB board" in err
    assert "pixelnet sim --board micropython --model m.json" in err


@pytest.fixture()
def uno_and_cortex():
    """A virtual Uno and a virtual Cortex-M3 running at once, each saying what it is."""
    qm = quantize(lesson_model(), "q7")
    with (FakeBoard(EmulatorArithmetic(qm), adc=VERTICAL_LEFT, name="uno") as uno,
          FakeBoard(EmulatorArithmetic(qm), adc=VERTICAL_LEFT, name="lm3s6965") as cortex,
          registered(VirtualPort(uno.port, "uno", "pixelnet_uno.elf", os.getpid())),
          registered(VirtualPort(cortex.port, "cortex-m3", "cortex.elf", os.getpid()))):
        yield uno, cortex


def test_verify_board_picks_the_running_board_of_that_kind(uno_and_cortex, tmp_path, capsys):
    uno, cortex = uno_and_cortex
    for board, port in (("cortex-m3", cortex.port), ("uno", uno.port)):
        report = tmp_path / f"{board}.json"
        assert main(["verify", "--board", board, "--lesson", "--samples", "20",
                     "--report", str(report)]) == 0
        summary = json.loads(report.read_text())
        assert summary["port"] == port and summary["bit_exact_mismatches"] == 0
    assert main(["verify", "--board", "mega", "--lesson", "--samples", "20"]) == 2
    assert "no mega board found" in capsys.readouterr().err


def test_verify_board_checks_what_the_board_says_it_is(uno_and_cortex, capsys):
    uno, cortex = uno_and_cortex
    assert main(["verify", "--board", "uno", "--port", cortex.port, "--lesson",
                 "--samples", "20"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is a lm3s6965 board, not a uno" in error
    assert main(["verify", "--board", "micropython", "--port", uno.port, "--lesson",
                 "--samples", "20"]) == 2
    assert "is a uno board, not a micropython" in capsys.readouterr().err
