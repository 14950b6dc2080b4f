"""The verifier verified: a board that reports one wrong number is caught, and the sample named.

A ``FrameTamper`` changes one field of one frame on its way from a correct
board to the host and gives the frame a fresh CRC, so the link lets it through:
only the comparison can catch it. Every field of both kinds of frame is tried —
each output (not only the first), each input, each ADC count, the class — and
`pixelnet verify` must fail (exit 1), count exactly one mismatch, and name the
sample: its number in the report, the summary and the CSV log.

Protocol 2's frames (SAMPLE_COMPACT, INFER_BATCH, RESULTS) are forged the same
way, their lengths and sequence numbers too: a forged value is a named
mismatch, a forged length a counted protocol error that is asked again, a
forged sequence number the same gap or duplicate as in version 1.

On a line that damages frames, a forged value is what a damaged frame that
passed the CRC-16 looks like: verify asks the board again, and a value the
board does not repeat is counted as line damage; one it repeats (a board that
really computes wrong) still fails.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pixelnet.cli import main
from pixelnet.codegen.emulator import dequantize_outputs, infer
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.faults import FaultyLine, FrameTamper, rewrite_seq, rewrite_some
from pixelnet.host.frames import Frame
from pixelnet.host.messages import (
    Cmd,
    Msg,
    Sample,
    batch_capacity,
    pack_compact_sample,
    pack_sample,
    pack_values,
    unpack_compact_sample,
    unpack_sample,
)
from pixelnet.host.verify import CRC_ESCAPES_ALWAYS_ALLOWED, MAX_LISTED, Phase
from pixelnet.trainer.patterns import CLASSES

N_IN = N_OUT = 4
VICTIM = 37  # the frame (of its type) that is changed: inside the first batch of each phase
FIELDS = [("adc", i) for i in range(4)] + [("x", i) for i in range(N_IN)] + [
    ("out", j) for j in range(N_OUT)] + [("cls", 0)]
STAGE = {"adc": "preprocess", "x": "preprocess", "out": "network", "cls": "class"}


def changed(sample: Sample, field: str, i: int, act_max: int) -> Sample:
    """``sample`` with one field moved to another value the link cannot tell from a real one."""
    if field == "cls":
        return dataclasses.replace(sample, cls=(sample.cls + 1) % N_OUT)
    values = list(getattr(sample, field))
    if field == "adc":  # a count far enough away to change the input it stands for
        values[i] = 1023 - values[i] if values[i] else 1
    else:
        values[i] = values[i] + 1 if values[i] < act_max else values[i] - 1
    return dataclasses.replace(sample, **{field: tuple(values)})


def tamper_one(msg: Msg, field: str, i: int, act_max: int) -> FrameTamper:
    """The ``VICTIM``-th frame of type ``msg`` gets one field changed (and a fresh CRC);
    a repeated reply to the same request too, so whichever the host takes is forged."""

    def change(frame: Frame) -> Frame:
        sample = changed(unpack_sample(frame.payload, N_IN, N_OUT), field, i, act_max)
        return Frame(frame.type, frame.seq, pack_sample(sample))

    return rewrite_seq(msg, VICTIM, change)


@pytest.mark.parametrize(("field", "i"), FIELDS)
@pytest.mark.parametrize("msg", [Msg.SAMPLE, Msg.RESULT])
def test_one_wrong_field_fails_verify_and_names_the_sample(
    lesson_ref, lesson_file, tmp_path, capsys, msg, field, i
):
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    tamper = tamper_one(msg, field, i, lesson_ref.qm.format.act_max)
    with (
        FakeBoard(EmulatorArithmetic(lesson_ref.qm), adc=(900, 60, 880, 75)) as board,
        FaultyLine(board.port, tamper=tamper) as line,
    ):
        # protocol 1: the full SAMPLE and RESULT frames, every field of which is forged here
        code = main(["verify", "--model", str(lesson_file), "--port", line.port, "--samples",
                     "60", "--vectors", "random", "--vector-count", "60", "--protocol", "1",
                     "--report", str(report), "--log", str(log)])
    example = one_named_mismatch(code, report, log, capsys.readouterr().out)
    phase_start = 0 if msg == Msg.SAMPLE else 60
    assert phase_start <= example["sample"] < phase_start + 60
    assert example["source"] == ("live" if msg == Msg.SAMPLE else "injected")
    assert example["stage"] == STAGE[field]


def one_named_mismatch(code: int, report: Path, log: Path, out: str) -> dict:
    """Exit 1 and exactly one mismatch, named alike in the report, the log and the summary;
    no frame was taken for damaged. Returns the report's example."""
    data = json.loads(report.read_text())
    assert code == 1 and not data["passed"]
    assert data["bit_exact_mismatches"] == 1 and data["link"]["protocol_errors"] == 0
    (example,) = data["mismatch_examples"]
    rows = list(csv.DictReader(log.open()))
    assert len(rows) == data["samples"]
    assert [int(r["n"]) for r in rows if r["exact"] == "0"] == [example["sample"]]
    assert f"MISMATCH sample {example['sample']}" in out
    return example


def test_the_tamper_really_changes_only_its_field(lesson_ref):
    sample = Sample((900, 60, 880, 75), (90, -90, 88, -87), (10, -20, 30, -40), 2)
    for field, i in FIELDS:
        other = changed(sample, field, i, lesson_ref.qm.format.act_max)
        diffs = [(f, k) for f in ("adc", "x", "out") for k in range(4)
                 if getattr(other, f)[k] != getattr(sample, f)[k]]
        diffs += [("cls", 0)] if other.cls != sample.cls else []
        assert diffs == [(field, i)]
        assert len(pack_sample(other)) == len(pack_sample(sample))
    assert struct.calcsize("<4H4h4hB") == len(pack_sample(sample))


def test_one_lsb_is_the_real_value_of_one_output_step(lesson_ref):
    step = dequantize_outputs(lesson_ref.qm, np.array([[1, 0, 0, 0]]))[0, 0]
    assert lesson_ref.lsb == step > 0


def test_a_phase_of_the_first_class_names_it():
    assert Phase("black", "live", 0).to_dict(CLASSES)["truth"] == CLASSES[0]
    assert Phase("any", "injected", -1).to_dict(CLASSES)["truth"] is None


# -- protocol 2: compact stream frames, INFER_BATCH and RESULTS -------------------------
#
# The same forgeries in version 2's frames, and the verifier must answer alike: a changed
# value is a counted mismatch named with its sample, a changed length a counted damaged
# frame that is asked again, a changed sequence number a counted gap or duplicate.
# Several forged frames share one run (each a mismatch of its own) to keep this cheap.

VB = 1  # bytes of a compact q7 value
BATCH = batch_capacity(N_IN, N_OUT, VB)  # vectors per INFER_BATCH: 15 for the lesson network
VECTORS = 2 * BATCH + 5  # two full batches and a short third one
FORGED_BATCH = 2  # the batch changed (of its frame type): samples BATCH .. 2 * BATCH - 1
V2_STREAM = 90  # live samples: the forged compact frames are 37, 40, ... 70
COMPACT_FIELDS = [f for f in FIELDS if f[0] != "cls"]  # the host computes the class


@dataclasses.dataclass
class Run:
    code: int
    data: dict
    out: str
    err: str


def verify_through(lesson_ref, lesson_file, tmp_path, capsys, args: list[str],
                   tamper: FrameTamper | None = None,
                   tamper_to_board: FrameTamper | None = None) -> Run:
    """``pixelnet verify`` of a correct fake board through a line that forges frames; the
    report and the log always agree on the samples."""
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    with (
        FakeBoard(EmulatorArithmetic(lesson_ref.qm), adc=(900, 60, 880, 75)) as board,
        FaultyLine(board.port, tamper=tamper, tamper_to_board=tamper_to_board) as line,
    ):
        code = main(["verify", "--model", str(lesson_file), "--port", line.port, *args,
                     "--report", str(report), "--log", str(log)])
    data = json.loads(report.read_text())
    rows = list(csv.DictReader(log.open()))
    assert len(rows) == data["samples"]
    assert [int(r["n"]) for r in rows if r["exact"] == "0"] == [
        e["sample"] for e in data["mismatch_examples"]]
    captured = capsys.readouterr()
    return Run(code, data, captured.out, captured.err)


def vectors_args(protocol: int = 2) -> list[str]:
    return ["--vectors", "random", "--vector-count", str(VECTORS), "--protocol", str(protocol)]


def named_mismatches(run: Run, count: int) -> list[dict]:
    """Exit 1, ``count`` mismatches (the summary names the first five), no frame taken
    for damaged."""
    assert run.code == 1 and not run.data["passed"]
    assert run.data["bit_exact_mismatches"] == count
    assert run.data["link"]["protocol_errors"] == 0
    examples = run.data["mismatch_examples"]
    assert len(examples) == count
    assert all(f"MISMATCH sample {e['sample']}" in run.out for e in examples[:5])
    return examples


def wrong_at(example: dict) -> tuple[str, int]:
    """The stage a mismatch was found at and the one index where board and emulator differ."""
    got, expected = ("x", "expected_x") if example["stage"] == "preprocess" else (
        "out", "expected_out")
    (index,) = [i for i, (a, b) in enumerate(zip(example[got], example[expected],
                                                 strict=True)) if a != b]
    return example["stage"], index


def change_values(frame: Frame, changes: dict[int, int]) -> Frame:
    """An INFER_BATCH or RESULTS frame with the values at ``changes``' indices replaced."""
    values = list(struct.unpack(f"<{len(frame.payload)}b", frame.payload))
    for index, value in changes.items():
        values[index] = value
    return Frame(frame.type, frame.seq, pack_values(values, VB))


def test_every_field_of_a_compact_sample_is_checked(
    lesson_ref, lesson_file, tmp_path, capsys
):
    act_max = lesson_ref.qm.format.act_max
    fields = iter(COMPACT_FIELDS)  # frames are changed in order: one field each

    def change(frame: Frame) -> Frame:
        sample = unpack_compact_sample(frame.payload, N_IN, N_OUT, VB)
        return Frame(frame.type, frame.seq,
                     pack_compact_sample(changed(sample, *next(fields), act_max), VB))

    forged = {VICTIM + 3 * k for k in range(len(COMPACT_FIELDS))}
    run = verify_through(lesson_ref, lesson_file, tmp_path, capsys,
                         ["--samples", str(V2_STREAM), "--protocol", "2"],
                         rewrite_some(Msg.SAMPLE_COMPACT, forged.__contains__, change))
    examples = named_mismatches(run, len(forged))
    assert [wrong_at(e) for e in examples] == [(STAGE[f], i) for f, i in COMPACT_FIELDS]
    assert all(e["source"] == "live" for e in examples)
    numbers = [e["sample"] for e in examples]  # 3 apart, as the forged frames are
    assert [b - a for a, b in itertools.pairwise(numbers)] == [3] * (len(forged) - 1)


def test_every_output_of_every_result_in_a_batch_is_checked(
    lesson_ref, lesson_file, tmp_path, capsys
):
    act_max = lesson_ref.qm.format.act_max

    def change(frame: Frame) -> Frame:  # vector p: its output p % 4 moved by one step
        values = struct.unpack(f"<{len(frame.payload)}b", frame.payload)
        moved = {i: values[i] + 1 if values[i] < act_max else values[i] - 1
                 for i in (p * N_OUT + p % N_OUT for p in range(BATCH))}
        return change_values(frame, moved)

    run = verify_through(lesson_ref, lesson_file, tmp_path, capsys, vectors_args(),
                         rewrite_seq(Msg.RESULTS, FORGED_BATCH, change))
    examples = named_mismatches(run, BATCH)
    assert [e["sample"] for e in examples] == list(range(BATCH, 2 * BATCH))
    assert [wrong_at(e) for e in examples] == [("network", p % N_OUT) for p in range(BATCH)]
    assert all(e["source"] == "injected" for e in examples)


def test_an_input_changed_on_its_way_to_the_board_is_caught(
    lesson_ref, lesson_file, tmp_path, capsys
):
    """The board computes on what it got: each vector of one INFER_BATCH has one input
    changed (input p % 4 of vector p); every one whose outputs that changes is a mismatch."""
    caught: set[int] = set()  # the sample numbers (a re-sent batch is changed alike)

    def change(frame: Frame) -> Frame:
        values = struct.unpack(f"<{len(frame.payload)}b", frame.payload)
        moved = {}
        for p in range(len(values) // N_IN):
            i = p * N_IN + p % N_IN
            moved[i] = -values[i] if values[i] else 64
            x = np.array([values[p * N_IN : (p + 1) * N_IN]])
            x_moved = x.copy()
            x_moved[0, p % N_IN] = moved[i]
            if (infer(lesson_ref.qm, x) != infer(lesson_ref.qm, x_moved)).any():
                caught.add(BATCH + p)
        return change_values(frame, moved)

    run = verify_through(lesson_ref, lesson_file, tmp_path, capsys, vectors_args(),
                         tamper_to_board=rewrite_seq(Cmd.INFER_BATCH, FORGED_BATCH, change))
    assert len(caught) >= BATCH // 2  # the change is not lost in saturation, mostly
    examples = named_mismatches(run, len(caught))
    assert [e["sample"] for e in examples] == sorted(caught)
    assert all(e["stage"] == "network" for e in examples)


def layout_changes() -> dict[str, tuple[int, str, Callable[[Frame], Frame]]]:
    """(frame type, direction, change) of each forged length, one frame per run."""
    vector = N_IN * VB
    return {
        "compact sample a byte short": (Msg.SAMPLE_COMPACT, "to_host", drop_last(1)),
        "compact sample a byte long": (Msg.SAMPLE_COMPACT, "to_host", append(b"\x00")),
        "results a value short": (Msg.RESULTS, "to_host", drop_last(1)),
        "results a vector short": (Msg.RESULTS, "to_host", drop_last(vector)),
        "results a vector more": (Msg.RESULTS, "to_host", append(b"\x01" * vector)),
        "batch a vector short": (Cmd.INFER_BATCH, "to_board", drop_last(vector)),
        "batch a vector more": (Cmd.INFER_BATCH, "to_board", append(b"\x01" * vector)),
    }


def drop_last(n: int) -> Callable[[Frame], Frame]:
    return lambda f: Frame(f.type, f.seq, f.payload[:-n])


def append(extra: bytes) -> Callable[[Frame], Frame]:
    return lambda f: Frame(f.type, f.seq, f.payload + extra)


@pytest.mark.parametrize("name", sorted(layout_changes()))
def test_a_v2_frame_of_a_forged_length_is_counted_and_asked_again(
    lesson_ref, lesson_file, tmp_path, capsys, name
):
    msg, direction, change = layout_changes()[name]
    # the short last batch: one vector more still fits a frame
    chosen = VICTIM if msg == Msg.SAMPLE_COMPACT else FORGED_BATCH + 1
    tamper = rewrite_seq(msg, chosen, change, first_copy=True)
    live = msg == Msg.SAMPLE_COMPACT
    args = ["--samples", str(V2_STREAM), "--protocol", "2"] if live else vectors_args()
    run = verify_through(lesson_ref, lesson_file, tmp_path, capsys, args,
                         **{"tamper" if direction == "to_host" else "tamper_to_board": tamper})
    assert run.code == 0 and run.data["passed"], run.data["failures"]
    assert run.data["samples"] == (V2_STREAM if live else VECTORS)
    assert run.data["bit_exact_mismatches"] == 0
    assert run.data["link"]["protocol_errors"] == 1


def shifted_seq(by: int) -> Callable[[Frame], Frame]:
    return lambda f: Frame(f.type, (f.seq + by) & 0xFF, f.payload)


def outcome(run: Run) -> dict:
    """What a forgery came to: exit code, samples, mismatches and the link's counts."""
    link = run.data["link"]
    return {"code": run.code, "samples": run.data["samples"],
            "mismatches": run.data["bit_exact_mismatches"],
            **{k: link[k] for k in ("protocol_errors", "seq_gaps", "missed_samples",
                                    "seq_jumps", "unread_requests", "board_errors")},
            "duplicates": link["duplicates"] > 0, "aborted": run.data["aborted"]}


def both_versions(lesson_ref, lesson_file, tmp_path, capsys, forgeries, args) -> dict:
    """The outcome of each version's forgery: {protocol: outcome}."""
    outcomes = {}
    for protocol, (direction, tamper) in forgeries.items():
        where = tmp_path / f"v{protocol}"
        where.mkdir()
        run = verify_through(lesson_ref, lesson_file, where, capsys,
                             [*args, "--protocol", str(protocol)],
                             **{"tamper" if direction == "to_host" else "tamper_to_board": tamper})
        outcomes[protocol] = outcome(run)
    return outcomes


def test_a_stream_frame_with_a_forged_seq_is_a_counted_gap_in_both_versions(
    lesson_ref, lesson_file, tmp_path, capsys
):
    """One counter 3 ahead: a gap of 3 samples that were not lost, then a step back, which
    is a jump and no gap of 253 (the largest error one stray counter can make)."""
    outcomes = both_versions(lesson_ref, lesson_file, tmp_path, capsys, {
        1: ("to_host", rewrite_some(Msg.SAMPLE, VICTIM.__eq__, shifted_seq(3))),
        2: ("to_host", rewrite_some(Msg.SAMPLE_COMPACT, VICTIM.__eq__, shifted_seq(3))),
    }, ["--samples", str(V2_STREAM)])
    for counts in outcomes.values():  # a loaded machine may repeat a STREAM command's ACK
        del counts["duplicates"]
    assert outcomes[1] == outcomes[2]
    assert outcomes[2]["code"] == 0 and outcomes[2]["samples"] == V2_STREAM
    assert outcomes[2]["mismatches"] == 0
    assert (outcomes[2]["seq_gaps"], outcomes[2]["missed_samples"], outcomes[2]["seq_jumps"]) == (
        1, 3, 1)


# the forged reply or request of version 1: one in the middle of the second batch's vectors
V1_VICTIM = BATCH + 3


@pytest.mark.parametrize("direction", ["to_host", "to_board"])
def test_a_reply_or_request_with_a_forged_seq_is_asked_again_in_both_versions(
    lesson_ref, lesson_file, tmp_path, capsys, direction
):
    """The reply to nothing the host asked for is a duplicate; the request it answered
    is asked again (the board's reply to a request whose seq changed is one such)."""
    v1, v2 = (Msg.RESULT, Msg.RESULTS) if direction == "to_host" else (Cmd.INFER, Cmd.INFER_BATCH)
    outcomes = both_versions(lesson_ref, lesson_file, tmp_path, capsys, {
        1: (direction, rewrite_seq(v1, V1_VICTIM, shifted_seq(128), first_copy=True)),
        2: (direction, rewrite_seq(v2, FORGED_BATCH, shifted_seq(128), first_copy=True)),
    }, ["--vectors", "random", "--vector-count", str(VECTORS)])
    assert outcomes[1] == outcomes[2]
    assert outcomes[2]["code"] == 0 and outcomes[2]["samples"] == VECTORS
    assert outcomes[2]["mismatches"] == 0 and outcomes[2]["duplicates"]


@pytest.mark.parametrize(("protocol", "cmd", "victim"), [
    (1, Cmd.INFER, V1_VICTIM), (2, Cmd.INFER_BATCH, FORGED_BATCH)])
def test_a_request_of_a_forged_length_is_never_answered_wrongly(
    lesson_ref, lesson_file, tmp_path, capsys, protocol, cmd, victim
):
    """A request the line cut short (CRC and all), which the board refuses: the run
    goes on or ends with exit 2 and its report, never with a wrong sample."""
    run = verify_through(lesson_ref, lesson_file, tmp_path, capsys,
                         vectors_args(protocol),
                         tamper_to_board=rewrite_seq(cmd, victim, drop_last(1), first_copy=True))
    assert run.data["bit_exact_mismatches"] == 0
    if run.code == 0:
        assert run.data["passed"] and run.data["samples"] == VECTORS
    else:
        assert run.code == 2 and "rejected" in run.data["aborted"]
        assert run.err.strip().splitlines()[-1].startswith("pixelnet verify: error: board "
                                                            "rejected")


# -- a damaged frame that passes the CRC (about 1 in 65,536 do) ---------------------

BROKEN_FRAME = b"\x03\x11\x22\x00"  # too short to be a frame: damage the host sees and drops


class DamagedLine:
    """``tamper``'s frames towards the host, with one broken frame after the tenth (once
    the host is surely listening, past the handshake)."""

    def __init__(self, tamper: FrameTamper) -> None:
        self.tamper = tamper
        self.frames = 0

    def feed(self, data: bytes) -> bytes:
        out = self.tamper.feed(data)
        before, self.frames = self.frames, self.frames + out.count(b"\x00")
        return out + BROKEN_FRAME if before < 10 <= self.frames else out


def output_moved_once_in(frame: Frame) -> Frame:
    """``frame`` with output 0 one step away and a fresh CRC: what a damaged frame the CRC
    let through looks like."""
    sample = unpack_sample(frame.payload, N_IN, N_OUT)
    moved = changed(sample, "out", 0, act_max=127)  # the lesson network in q7
    return Frame(frame.type, frame.seq, pack_sample(moved))


def output_moved_once(msg: Msg, nth: int) -> FrameTamper:
    """The first copy of the ``nth`` frame of type ``msg``, forged by ``output_moved_once_in``."""
    return rewrite_seq(msg, nth, output_moved_once_in, first_copy=True)


@pytest.mark.parametrize("msg", [Msg.SAMPLE, Msg.RESULT])
def test_a_damaged_frame_the_crc_let_through_is_asked_again_not_compared(
    lesson_ref, lesson_file, tmp_path, capsys, msg
):
    tamper = DamagedLine(output_moved_once(msg, VICTIM))
    with (
        FakeBoard(EmulatorArithmetic(lesson_ref.qm), adc=(900, 60, 880, 75)) as board,
        FaultyLine(board.port, tamper=tamper) as line,
    ):
        code, report, log = verify_on(line.port, lesson_file, tmp_path)
    data = json.loads(report.read_text())
    rows = list(csv.DictReader(log.open()))
    assert code == 0 and data["passed"], data["failures"]
    assert len(rows) == 200 and all(row["exact"] == "1" for row in rows)
    assert data["link"]["crc_escapes"] == 1 and data["link"]["bad_frame"] > 0
    assert data["samples"] == 200  # a live sample dropped is made up by the next one
    assert "1 damaged frames past the CRC (not compared)" in capsys.readouterr().out


class OutputZeroOneHigh(EmulatorArithmetic):
    """A board that computes output 0 one step too high."""

    def infer_trace(self, x: list[int]) -> list[list[int]]:
        layers = super().infer_trace(x)
        layers[-1][0] += 1
        return layers


def test_a_board_that_computes_wrong_is_still_caught_on_a_damaged_line(lesson_ref, lesson_file,
                                                                       tmp_path):
    with (
        FakeBoard(OutputZeroOneHigh(lesson_ref.qm), adc=(900, 60, 900, 60)) as wrong,
        FaultyLine(wrong.port, tamper=DamagedLine(FrameTamper(lambda frame: None))) as line,
    ):
        code, report, _ = verify_on(line.port, lesson_file, tmp_path)
    data = json.loads(report.read_text())
    assert code == 1 and data["bit_exact_mismatches"] == 200
    assert data["link"]["crc_escapes"] == 0 and data["link"]["bad_frame"] > 0
    assert len(data["mismatch_examples"]) == MAX_LISTED


def test_more_damaged_frames_than_the_crc_lets_through_are_mismatches(lesson_ref, lesson_file,
                                                                     tmp_path):
    """Three forged results on a line that damaged one frame: a CRC-16 does not let that
    many through, so two are taken for damage and the third is a mismatch."""
    forged = rewrite_some(Msg.RESULT, lambda k: k in (20, 40, 60), output_moved_once_in)
    with (
        FakeBoard(EmulatorArithmetic(lesson_ref.qm), adc=(900, 60, 880, 75)) as board,
        FaultyLine(board.port, tamper=DamagedLine(forged)) as line,
    ):
        code, report, _ = verify_on(line.port, lesson_file, tmp_path)
    data = json.loads(report.read_text())
    assert code == 1 and data["bit_exact_mismatches"] == 1
    assert data["link"]["crc_escapes"] == CRC_ESCAPES_ALWAYS_ALLOWED == 2


def verify_on(port: str, lesson_file: Path, tmp_path: Path) -> tuple[int, Path, Path]:
    """`pixelnet verify` of 100 live samples and 100 injected vectors (protocol 1)."""
    report, log = tmp_path / "r.json", tmp_path / "l.csv"
    code = main(["verify", "--model", str(lesson_file), "--port", port, "--samples", "100",
                 "--vectors", "random", "--vector-count", "100", "--protocol", "1",
                 "--report", str(report), "--log", str(log)])
    return code, report, log
