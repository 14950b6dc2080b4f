"""The verifier verified: a board that reports one wrong number is caught, and the sample named.

A ``FrameTamper`` changes one field of one frame on its way from a correct
board to the host and gives the frame a fresh CRC, so the link lets it through:
only the comparison can catch it. Every field of both kinds of frame is tried —
each output (not only the first), each input, each ADC count, the class — and
`pixelnet verify` must fail (exit 1), count exactly one mismatch, and name the
sample: its number in the report, the summary and the CSV log.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import struct

import numpy as np
import pytest

from pixelnet.cli import main
from pixelnet.codegen.emulator import dequantize_outputs
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.faults import FaultyLine, FrameTamper, rewrite_some
from pixelnet.host.frames import Frame
from pixelnet.host.messages import Msg, Sample, pack_sample, unpack_sample
from pixelnet.host.verify import Phase
from pixelnet.trainer.patterns import CLASSES

N_IN = N_OUT = 4
VICTIM = 37  # the frame (of its type) that is changed: inside the first batch of each phase
FIELDS = [("adc", i) for i in range(4)] + [("x", i) for i in range(N_IN)] + [
    ("out", j) for j in range(N_OUT)] + [("cls", 0)]


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
    """The ``VICTIM``-th frame of type ``msg`` gets one field changed (and a fresh CRC)."""

    def change(frame: Frame) -> Frame:
        sample = changed(unpack_sample(frame.payload, N_IN, N_OUT), field, i, act_max)
        return Frame(frame.type, frame.seq, pack_sample(sample))

    return rewrite_some(msg, lambda k: k == VICTIM, change)


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
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert code == 1 and not data["passed"]
    assert data["bit_exact_mismatches"] == 1 and data["link"]["protocol_errors"] == 0
    (example,) = data["mismatch_examples"]
    rows = list(csv.DictReader(log.open()))
    bad = [int(r["n"]) for r in rows if r["exact"] == "0"]
    assert bad == [example["sample"]]
    phase_start = 0 if msg == Msg.SAMPLE else 60
    assert phase_start <= example["sample"] < phase_start + 60
    assert example["source"] == ("live" if msg == Msg.SAMPLE else "injected")
    assert f"MISMATCH sample {example['sample']}" in out
    expected_stage = {"adc": "preprocess", "x": "preprocess", "out": "network", "cls": "class"}
    assert example["stage"] == expected_stage[field]


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
