"""`pixelnet verify` over lines from bad to hopeless, vanishing ports, forged frames and Ctrl-C.

Every run must end with the right exit code, one line on stderr when it could
not finish, a valid JSON report and a CSV log that holds exactly the samples
the report counts; no damaged sample is ever compared (the boards here compute
correctly, so a single mismatch would be a damaged sample that got through).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pixelnet.cli import main
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.faults import FaultRates, FaultyLine, FrameTamper, rewrite_some
from pixelnet.host.frames import Frame
from pixelnet.host.messages import Msg
from pixelnet.trainer.lesson import lesson_model

CLEAN = FaultRates()
NOISY_TO = {
    "to_host": lambda r: {"to_host": r},
    "to_board": lambda r: {"to_board": r},
    "both": lambda r: {"to_host": r, "to_board": r},
}
NOISY_LINE = re.compile(r"line too noisy: (\d+) CRC errors in (\d+) frames")


@pytest.fixture()
def board(lesson_ref):
    with FakeBoard(EmulatorArithmetic(lesson_ref.qm), adc=(900, 60, 900, 60)) as b:
        yield b


def corrupt(rate: float) -> FaultRates:
    return FaultRates(corrupt=rate)


def verify(lesson_file, port, tmp_path, *extra) -> tuple[int, Path, Path]:
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    code = main(["verify", "--model", str(lesson_file), "--port", port, "--report", str(report),
                 "--log", str(log), *extra])
    return code, report, log


def check_outputs(report: Path, log: Path) -> dict:
    """The report parses, the log holds exactly its samples, and every one of them is exact."""
    data = json.loads(report.read_text())
    rows = list(csv.DictReader(log.open()))
    assert len(rows) == data["samples"]
    assert data["bit_exact_mismatches"] == 0 and all(r["exact"] == "1" for r in rows)
    return data


def one_error_line(capsys) -> str:
    """The one error line, last on stderr (progress lines may come before it)."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and err[-1] == errors[0], err
    assert not any("Traceback" in line for line in err)
    return errors[0]


def close_when_logged(line: FaultyLine, log: Path, rows: int) -> threading.Thread:
    """Unplug once the log holds ``rows`` samples: mid-run on any machine, loaded or not."""

    def wait_and_close() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and log.read_text().count("\n") > rows:
                break
            time.sleep(0.01)
        line.close()

    thread = threading.Thread(target=wait_and_close, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("direction", sorted(NOISY_TO))
@pytest.mark.parametrize("rate", [0.001, 0.01, 0.03, 0.05])
def test_verify_completes_on_a_noisy_line_and_counts_every_fault(
    lesson_file, board, tmp_path, direction, rate
):
    rates = NOISY_TO[direction](corrupt(rate))
    with FaultyLine(board.port, seed=int(rate * 1000), **rates) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "100",
                                   "--vectors", "random", "--vector-count", "150")
        damage = {d: line.counts[d].corrupted for d in ("to_host", "to_board")}
    data = check_outputs(report, log)
    assert code == 0 and data["passed"], data["failures"]
    assert data["samples"] == 250
    link = data["link"]
    if damage["to_host"]:  # what the host saw damaged is counted, not compared
        assert link["resyncs"] + link["protocol_errors"] > 0
    if damage["to_board"]:  # what the board could not read it said so about, and we re-sent
        assert link["unread_requests"] + link["retries"] > 0


def test_live_verify_gets_through_when_only_a_fifth_of_our_bytes_are_damaged(
    lesson_file, board, tmp_path
):
    with FaultyLine(board.port, seed=5, to_board=corrupt(0.2)) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "100")
    data = check_outputs(report, log)
    assert code == 0 and data["samples"] == 100
    assert data["link"]["unread_requests"] > 0


@pytest.mark.parametrize("direction", ["to_host", "both"])
def test_a_hopeless_line_is_named_with_its_counts_and_the_report_is_written(
    lesson_file, board, tmp_path, capsys, direction
):
    with FaultyLine(board.port, seed=5, **NOISY_TO[direction](corrupt(0.2))) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "100")
    assert code == 2
    error = one_error_line(capsys)
    match = NOISY_LINE.search(error)
    assert match and 0 < int(match[1]) <= int(match[2]), error
    assert "is the firmware flashed" not in error
    data = check_outputs(report, log)
    assert not data["passed"] and data["aborted"] and data["samples"] == 0
    assert data["link"]["resyncs"] + data["link"]["unread_requests"] > 0
    assert main(["report", "--from", str(report)]) == 1  # it renders again, as any report
    assert "no board got through the handshake" in capsys.readouterr().out


def test_a_line_that_turns_hopeless_mid_run_keeps_what_was_compared(
    lesson_file, board, tmp_path, capsys
):
    with FaultyLine(board.port, seed=9) as line:
        log = tmp_path / "l.csv"

        def spoil() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                log.exists() and log.read_text().count("\n") > 64
            ):
                time.sleep(0.01)
            line.rates["to_host"] = corrupt(0.3)

        threading.Thread(target=spoil, daemon=True).start()
        code, report, _ = verify(lesson_file, line.port, tmp_path, "--seconds", "60",
                                 "--protocol", "1")
    assert code == 2
    error = one_error_line(capsys)
    match = NOISY_LINE.search(error)
    assert match and "after" in error, error
    assert int(match[1]) < int(match[2])  # the good frames before the line went bad count too
    data = check_outputs(report, log)
    assert data["samples"] >= 64 and data["aborted"] and not data["passed"]


def unplug_mid_run(lesson_file, port: str, tmp_path, capsys, **rates) -> None:
    """Verify until 64 samples are logged, pull the cable: exit 2, one line, nothing lost."""
    log = tmp_path / "l.csv"
    with FaultyLine(port, seed=3, **rates) as line:
        close_when_logged(line, log, 64)
        code, report, _ = verify(lesson_file, line.port, tmp_path, "--seconds", "60")
    assert code == 2
    data = check_outputs(report, log)
    assert one_error_line(capsys).endswith(
        f"the board went away after {data['samples']:,} samples"
    )
    assert data["samples"] >= 64 and not data["passed"]


def test_unplugging_mid_run_exits_2_with_one_line_and_keeps_report_and_log(
    lesson_file, board, tmp_path, capsys
):
    unplug_mid_run(lesson_file, board.port, tmp_path, capsys)


def test_vectors_go_one_by_one_when_the_line_lets_no_batch_through(lesson_ref, board):
    """A line that turns noisy towards the board after a clean handshake: INFER_BATCH
    frames (up to 66 bytes) hardly ever arrive whole, single INFER frames (15) do."""
    from pixelnet.host.client import BoardClient
    from pixelnet.host.vectors import random_vectors

    xs = [tuple(int(v) for v in x) for x in random_vectors(120)[0]]
    arithmetic = EmulatorArithmetic(lesson_ref.qm)
    with FaultyLine(board.port, seed=7) as line, BoardClient.open(line.port) as client:
        client.info()
        assert client.upgrade() and client.protocol == 2
        line.rates["to_board"] = corrupt(0.08)
        samples = client.infer_many(xs)
    assert [s.x for s in samples] == xs
    assert [list(s.out) for s in samples] == [arithmetic.infer_trace(x)[-1] for x in xs]
    assert client.stats.unread_requests > 0


def _break_layout(every: int, msg: Msg) -> FrameTamper:
    """Every ``every``-th frame of type ``msg`` loses its last byte (and gets a fresh CRC)."""
    return rewrite_some(msg, lambda k: k % every == 0,
                        lambda f: Frame(f.type, f.seq, f.payload[:-1]))


@pytest.mark.parametrize(("msg", "every", "protocol"), [
    (Msg.RESULT, 97, 1), (Msg.SAMPLE, 97, 1),
    # protocol 2: compact stream frames, and one RESULTS frame per 15 vectors
    (Msg.SAMPLE_COMPACT, 97, 2), (Msg.RESULTS, 7, 2),
])
def test_a_crc_valid_frame_with_a_wrong_layout_is_counted_and_verify_goes_on(
    lesson_file, board, tmp_path, msg, every, protocol
):
    tamper = _break_layout(every, msg)
    with FaultyLine(board.port, tamper=tamper) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "300",
                                   "--vectors", "random", "--vector-count", "300",
                                   "--protocol", str(protocol))
    data = check_outputs(report, log)
    assert code == 0 and data["passed"], data["failures"]
    assert data["samples"] == 600
    assert data["link"]["protocol_errors"] >= 1



@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ctrl_c_at_a_random_moment_leaves_a_valid_report_and_log(lesson_file, board, tmp_path,
                                                                  seed):
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    with FaultyLine(board.port, to_host=corrupt(0.01), to_board=corrupt(0.01), seed=seed) as line:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pixelnet.cli", "verify", "--model", str(lesson_file),
             "--port", line.port, "--seconds", "60", "--vectors", "random",
             "--report", str(report), "--log", str(log)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not log.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)  # the handshake is done once the log exists
            time.sleep(random.Random(seed).uniform(0.0, 1.5))
            os.kill(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    data = check_outputs(report, log)
    assert data["aborted"] == "interrupted" and "FAIL: aborted: interrupted" in out


# -- the same on both virtual boards (the real firmware) ------------------------


@pytest.fixture(scope="module", params=["uno", "micropython"])
def virtual(request, tmp_path_factory):
    """One running virtual board per kind for the module; each test puts its own line on it."""
    from pixelnet.firmware.virtual import start_virtual_board

    build = tmp_path_factory.mktemp(f"{request.param}_board")
    if request.param == "uno":
        from pixelnet.firmware.build import build_uno

        firmware = build_uno(lesson_model(), "q7", build).elf
    else:
        from pixelnet.firmware.virtual_micropython import prepare_micropython_files

        firmware = prepare_micropython_files(lesson_model(), "q7", build / "files")
    with start_virtual_board(request.param, firmware=firmware, state_dir=build / "state",
                             scene="vertical_left", build_dir=build) as board:
        yield board


@pytest.mark.slow
@pytest.mark.parametrize(("rate", "direction"), [
    (0.001, "both"), (0.01, "both"), (0.03, "both"), (0.05, "both"),
    (0.05, "to_host"), (0.05, "to_board"),
])
def test_virtual_board_verifies_on_a_noisy_line(lesson_file, virtual, tmp_path, rate, direction):
    rates = NOISY_TO[direction](corrupt(rate))
    with FaultyLine(virtual.port, seed=int(rate * 1000), **rates) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "100",
                                   "--scene-label", "vertical_left", "--vectors", "random",
                                   "--vector-count", "150")
    data = check_outputs(report, log)
    assert code == 0 and data["passed"], data["failures"]
    assert data["samples"] == 250 and data["phases"][0]["correct"] == 100


@pytest.mark.slow
def test_virtual_board_on_a_hopeless_line_is_named(lesson_file, virtual, tmp_path, capsys):
    with FaultyLine(virtual.port, seed=2, to_host=corrupt(0.2), to_board=corrupt(0.2)) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "100")
    assert code == 2
    assert NOISY_LINE.search(one_error_line(capsys))
    data = check_outputs(report, log)
    assert data["aborted"] and not data["passed"]


@pytest.mark.slow
def test_virtual_board_unplugged_mid_run(lesson_file, virtual, tmp_path, capsys):
    unplug_mid_run(lesson_file, virtual.port, tmp_path, capsys, to_host=corrupt(0.01))


@pytest.mark.slow
def test_virtual_board_frame_of_the_wrong_layout_is_skipped(lesson_file, virtual, tmp_path):
    with FaultyLine(virtual.port, tamper=_break_layout(41, Msg.RESULT)) as line:
        code, report, log = verify(lesson_file, line.port, tmp_path, "--samples", "50",
                                   "--vectors", "random", "--vector-count", "200")
    data = check_outputs(report, log)
    assert code == 0 and data["samples"] == 250 and data["link"]["protocol_errors"] >= 1


@pytest.mark.slow
def test_virtual_board_held_up_for_seconds_is_waited_for(lesson_ref, virtual):
    """A loaded machine can stop a board process for seconds: that is no lost board, and
    no line noise either (the requests re-sent meanwhile and the frame the board was
    sending all arrive whole); only the re-sends and their duplicate answers show."""
    from pixelnet.host.client import BoardClient
    from pixelnet.host.vectors import random_vectors
    from pixelnet.host.verify import Verifier

    def hold_up(seconds: float) -> None:
        pid = virtual.pid
        os.kill(pid, signal.SIGSTOP)
        time.sleep(seconds)
        os.kill(pid, signal.SIGCONT)

    with BoardClient.open(virtual.port) as client:
        info = client.info()
        verifier = Verifier(lesson_ref)
        stall = threading.Timer(0.2, hold_up, args=(3.0,))
        stall.start()
        verifier.verify_stream(client, n=400, truth=1)
        stall.join()
        stall = threading.Timer(0.2, hold_up, args=(3.0,))
        stall.start()
        verifier.verify_vectors(client, *random_vectors(1000))
        stall.join()
        report = verifier.report(info, client.stats.to_dict())
    assert report["passed"] and report["samples"] == 1400, report["failures"]
    damage = ("bad_crc", "bad_frame", "too_long", "garbage_bytes", "missed_samples", "seq_jumps",
              "protocol_errors", "unread_requests", "board_errors")
    assert {key: report["link"][key] for key in damage} == dict.fromkeys(damage, 0)


@pytest.mark.parametrize("when", [1, 3])
def test_ctrl_c_while_a_batch_is_being_logged_keeps_report_and_log_equal(
    lesson_file, board, tmp_path, monkeypatch, when
):
    """Ctrl-C lands wherever Python happens to be: here, in the middle of logging a batch
    (the worst moment: counted in the report, not yet in the log)."""
    from pixelnet.host.samplelog import SampleLog

    real_write = SampleLog.write
    calls = []

    def write_with_ctrl_c(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == when:
            os.kill(os.getpid(), signal.SIGINT)
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(SampleLog, "write", write_with_ctrl_c)
    code, report, log = verify(lesson_file, board.port, tmp_path, "--samples", "1000",
                               "--vectors", "random")
    assert code == 130
    data = check_outputs(report, log)
    assert data["aborted"] == "interrupted" and data["samples"] == when * 64
