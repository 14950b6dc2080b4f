"""Many boards from one process: `pixelnet verify --port A --port B ...` on Python boards."""

from __future__ import annotations

import json

import pytest

from pixelnet.cli import main
from pixelnet.codegen.quantize import quantize
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.lab import BoardOutcome, format_lab_table, link_faults, report_name
from pixelnet.host.monitor import HOME_AND_CLEAR
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model
from tests.test_host_verify import OffByOneInLayer


@pytest.fixture(scope="module")
def qm():
    return quantize(lesson_model(), "q7")


@pytest.fixture()
def model_file(tmp_path):
    return save_model(lesson_model(), tmp_path / "lesson.json")


def test_three_boards_at_once_pass_with_one_table_and_a_report_each(qm, model_file, tmp_path,
                                                                    capsys):
    with FakeBoard(EmulatorArithmetic(qm), name="fake-a") as a, \
            FakeBoard(EmulatorArithmetic(qm), name="fake-b") as b, \
            FakeBoard(EmulatorArithmetic(qm), name="old", protocol=1) as old:
        code = main(["verify", "--model", str(model_file), "--port", a.port, "--port", b.port,
                     "--port", old.port, "--samples", "100", "--vectors", "random",
                     "--vector-count", "60", "--report", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["port", "board", "model", "line"]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert set(rows) == {a.port, b.port, old.port}
    assert all(row.endswith("PASS") and " 160 " in row for row in rows.values())
    assert "3 of 3 boards passed; 480 samples verified" in out
    reports = list((tmp_path / "reports").iterdir())
    assert {p.name for p in reports} == {
        report_name(i, port) for i, port in enumerate((a.port, b.port, old.port))}
    by_port = {r["port"]: r for r in (json.loads(p.read_text()) for p in reports)}
    # a board held up past the speed change's confirmation goes back to 115,200: counted
    assert "v2 1,000,000" in rows[a.port] or by_port[a.port]["link"]["baud_fallbacks"] > 0
    assert "v1 115,200" in rows[old.port]
    assert by_port[old.port]["line"] == {"baud": 115_200, "protocol": 1}
    assert all(r["passed"] and r["samples"] == 160 for r in by_port.values())


def test_one_wrong_board_fails_the_run_and_the_others_still_pass(qm, model_file, capsys):
    with FakeBoard(EmulatorArithmetic(qm)) as good, \
            FakeBoard(OffByOneInLayer(qm, 1), adc=(900, 40, 880, 60)) as bad:
        code = main(["verify", "--model", str(model_file), "--port", good.port,
                     "--port", bad.port, "--samples", "50"])
    out = capsys.readouterr().out
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[1:3]}
    assert rows[good.port].endswith("PASS")
    assert "FAIL: 50 bit-exact mismatches" in rows[bad.port]
    assert "1 of 2 boards passed" in out


def test_a_board_that_is_not_there_is_a_row_not_a_crash(qm, model_file, capsys):
    with FakeBoard(EmulatorArithmetic(qm)) as good:
        code = main(["verify", "--model", str(model_file), "--port", good.port,
                     "--port", "/dev/no-such-tty", "--samples", "20"])
    out, err = capsys.readouterr()
    assert code == 2  # one board could not be checked: as for a single board, not a failed check
    assert "ERROR: cannot open /dev/no-such-tty: no such port" in out
    assert err.count("\n") == 1 and "1 of 2 boards could not be checked (/dev/no-such-tty" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--port", "a", "--all"], "give --port or --all, not both"),
        (["--port", "a", "--port", "a"], "a port is listed twice"),
        (["--port", "a", "--port", "b", "--log", "x.csv"], "--log and --html take one board"),
    ],
)
def test_contradictory_port_options_are_one_line(model_file, extra, message, capsys):
    assert main(["verify", "--model", str(model_file), *extra]) == 2
    assert message in capsys.readouterr().err


def test_the_table_counts_link_faults_and_names_errors():
    link = {"resyncs": 2, "seq_gaps": 1, "resets": 1, "retries": 3, "protocol_errors": 0,
            "baud_fallbacks": 1, "frames": 99, "duplicates": 5}
    assert link_faults(link) == 8
    table = format_lab_table([BoardOutcome("/dev/ttyX", error="no pixelnet board answered")], 1.0)
    assert "/dev/ttyX" in table and "ERROR: no pixelnet board answered" in table
    assert "0 of 1 boards passed" in table


@pytest.mark.slow
def test_demo_with_two_boards_verifies_both_virtual_unos(tmp_path, capsys, monkeypatch):
    from pixelnet.host import demo

    monkeypatch.setattr(demo, "_train", lesson_model)  # the lesson's network: no training
    monkeypatch.setattr(demo, "LAB_LIVE", 200)
    monkeypatch.setattr(demo, "LAB_VECTORS", 300)
    code = main(["demo", "--boards", "2", "--build-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 of 2 boards passed; 1,000 samples verified" in out
    rows = [line for line in out.splitlines() if line.startswith("/dev/")]
    assert len(rows) == 2 and all(" v2 " in r and r.endswith("PASS") for r in rows)
    reports = [json.loads(p.read_text()) for p in tmp_path.glob("board*-report.json")]
    assert len(reports) == 2
    # Each board at 1,000,000 baud, unless a loaded machine held a simulator up past the
    # confirmation: that fallback to 115,200 is counted in its report, never silent.
    slow = sum("1,000,000" not in r for r in rows)
    assert slow <= sum(r["link"]["baud_fallbacks"] > 0 for r in reports)


def test_demo_with_several_boards_takes_no_port(capsys):
    assert main(["demo", "--boards", "2", "--port", "/dev/ttyACM0"]) == 2
    assert "--boards starts virtual Unos" in capsys.readouterr().err


def test_monitor_on_two_boards_shows_a_row_each_until_done(qm, model_file, capsys):
    with FakeBoard(EmulatorArithmetic(qm), name="left") as a, \
            FakeBoard(EmulatorArithmetic(qm), name="right", protocol=1) as b:
        code = main(["monitor", "--model", str(model_file), "--port", a.port, "--port", b.port,
                     "--samples", "128"])
    screen = capsys.readouterr().out.split(HOME_AND_CLEAR)[-1]
    assert code == 0, screen
    rows = {line.split()[0]: line.split() for line in screen.splitlines()[1:3]}
    assert rows[a.port][1:7] == ["left", "v2", "1,000,000", "128", "0", "solid"]
    assert rows[b.port][1:7] == ["right", "v1", "115,200", "128", "0", "solid"]
