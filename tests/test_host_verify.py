"""Verification against the integer emulator and the float model, on a Python board."""

from __future__ import annotations

import csv
import json
import signal

import numpy as np
import pytest

from pixelnet.codegen.emulator import infer, quantize_inputs
from pixelnet.host.client import BoardClient
from pixelnet.host.compare import Reference, SampleArrays, check_batch, first_diverging_layer
from pixelnet.host.fake_board import EmulatorArithmetic, FakeBoard
from pixelnet.host.messages import DEFAULT_CALIBRATION, Sample
from pixelnet.host.metrics import ErrorSums
from pixelnet.host.report import format_summary
from pixelnet.host.samplelog import SampleLog
from pixelnet.host.vectors import grid_vectors, random_vectors
from pixelnet.host.verify import Verifier
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.patterns import CLASSES


@pytest.fixture(scope="module")
def ref():
    return Reference.from_model(lesson_model(), "q7")


class OffByOneInLayer:
    """A board with a bug: layer ``layer``'s first unit is one LSB high when input 0 > 50."""

    def __init__(self, qm, layer):
        self.inner = EmulatorArithmetic(qm)
        self.format_bits, self.model_hash = qm.format_bits, qm.model_hash
        self.layer_sizes = qm.layer_sizes
        self.layer = layer

    def preprocess(self, adc, dark, bright):
        return self.inner.preprocess(adc, dark, bright)

    def infer_trace(self, x):
        layers = self.inner.infer_trace(x)
        if x[0] > 50:
            layers[self.layer][0] += 1
            if self.layer < len(layers) - 1:  # the error propagates, as it would on a board
                layers[-1][0] += 1
        return layers


# -- pure pieces -------------------------------------------------------------


def test_error_sums_match_numpy_on_any_split():
    rng = np.random.default_rng(3)
    got, want = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    whole, parts = ErrorSums(), ErrorSums()
    whole.add(got, want)
    for lo in range(0, 50, 7):
        parts.add(got[lo : lo + 7], want[lo : lo + 7])
    e = got - want
    s = whole.summary(lsb=0.5)
    assert s["max_abs"] == pytest.approx(np.abs(e).max())
    assert s["max_abs_lsb"] == pytest.approx(np.abs(e).max() / 0.5)
    assert s["rmse"] == pytest.approx(np.sqrt((e**2).mean()))
    assert s["std"] == pytest.approx(e.std())
    assert s["mean"] == pytest.approx(e.mean())
    assert s["l2_ratio"] == pytest.approx(np.linalg.norm(e) / np.linalg.norm(want))
    cosine = (got * want).sum() / np.linalg.norm(got) / np.linalg.norm(want)
    assert s["cosine"] == pytest.approx(cosine)
    for key, value in parts.summary(0.5).items():
        assert value == pytest.approx(s[key])


def test_check_batch_flags_the_stage_where_a_board_went_wrong(ref):
    x = quantize_inputs(ref.qm, random_vectors(20)[0])
    out = infer(ref.qm, x)
    cls = np.argmax(out, axis=1)
    samples = [
        Sample((0,) * 4, tuple(a), tuple(o), int(c)) for a, o, c in zip(x, out, cls, strict=True)
    ]
    good = check_batch(ref, SampleArrays.from_samples(samples), sent_x=x)
    assert good.exact.all()
    samples[3] = Sample((0,) * 4, samples[3].x, (samples[3].out[0] + 1, *samples[3].out[1:]), 0)
    samples[5] = Sample((0,) * 4, samples[5].x, samples[5].out, (samples[5].cls + 1) % 4)
    sent = x.copy()
    sent[7, 0] += 1
    bad = check_batch(ref, SampleArrays.from_samples(samples), sent_x=sent)
    assert np.flatnonzero(~bad.exact).tolist() == [3, 5, 7]
    assert bad.stage[[3, 5, 7]].tolist() == [2, 3, 1]


def test_first_diverging_layer():
    expected = [np.array([1, 2]), np.array([3]), np.array([4, 5])]
    assert first_diverging_layer(expected, [[1, 2], [3], [4, 5]]) == -1
    assert first_diverging_layer(expected, [[1, 2], [9], [4, 6]]) == 1
    assert first_diverging_layer(expected, [[1, 2]]) == 1


def test_grid_covers_the_input_box():
    x, truth = grid_vectors()
    assert x.shape == (11**4, 4) and x.min() == -1 and x.max() == 1 and (truth == -1).all()


# -- on a board --------------------------------------------------------------


def _verify(board_arith, ref, tmp_path, adc=(900, 40, 880, 60)):
    with FakeBoard(board_arith, adc=adc) as board, BoardClient.open(board.port) as client:
        info = client.info()
        log = SampleLog(tmp_path / "log.csv", CLASSES)
        verifier = Verifier(ref, log)
        verifier.verify_stream(client, n=150, truth=CLASSES.index("vertical"), label="left")
        x, truth = random_vectors(600)
        verifier.verify_vectors(client, x, truth)
        log.close()
        return verifier.report(info, client.stats.to_dict(), max_error=0.5)


def test_bit_exact_board_passes_with_metrics_and_a_full_log(ref, tmp_path):
    report = _verify(EmulatorArithmetic(ref.qm), ref, tmp_path)
    assert report["passed"], report["failures"]
    assert report["samples"] == 750 and report["bit_exact_mismatches"] == 0
    left = report["phases"][0]
    assert left["samples"] == 150 and left["correct"] == left["labelled"] == 150
    assert report["accuracy"] > 0.95 and report["labelled_samples"] == 750
    assert report["error"]["max_abs"] < 0.5 and report["error"]["cosine"] > 0.99
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert len(rows) == 750 and {r["exact"] for r in rows} == {"1"}
    assert [int(r["seq"]) for r in rows[:150]] == [(int(rows[0]["seq"]) + i) % 256
                                                    for i in range(150)]
    json.dumps(report)  # serialisable as it stands
    assert "PASS" in format_summary(report)


def test_a_wrong_board_fails_and_the_trace_names_the_layer(ref, tmp_path):
    report = _verify(OffByOneInLayer(ref.qm, layer=1), ref, tmp_path)
    assert not report["passed"]
    assert report["bit_exact_mismatches"] > 0
    traced = [m for m in report["mismatch_examples"] if "first_diverging_layer" in m]
    assert traced and all(m["first_diverging_layer"] == 1 for m in traced)
    assert "bit-exact mismatches" in report["failures"][0]
    assert "(network, first diverging layer 1)" in format_summary(report)
    first = report["mismatch_examples"][0]
    assert f"MISMATCH sample {first['sample']:,} (network" in format_summary(report)


def test_max_error_threshold_fails_the_run(ref, tmp_path):
    with FakeBoard(EmulatorArithmetic(ref.qm)) as board, BoardClient.open(board.port) as client:
        info = client.info()
        verifier = Verifier(ref)
        verifier.verify_vectors(client, *random_vectors(100))
        report = verifier.report(info, client.stats.to_dict(), max_error=1e-9)
    assert not report["passed"] and "exceeds --max-error" in report["failures"][0]


def test_preprocessing_is_checked_against_the_boards_calibration(ref):
    x = ref.qm.format.act_max
    board = SampleArrays.from_samples([Sample((1023, 0, 1023, 0), (x, -x, x, -x), (0,) * 4, 0)])
    checked = check_batch(ref, board, calibration=DEFAULT_CALIBRATION)
    assert checked.stage[0] == 2  # preprocessing right, the (made-up) outputs wrong


class InterruptedLog(SampleLog):
    """A log whose ``write`` number ``at`` is reached by Ctrl-C before it writes a row."""

    def __init__(self, path, class_names, at):
        super().__init__(path, class_names)
        self.calls, self.at = 0, at

    def write(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            signal.raise_signal(signal.SIGINT)
        super().write(*args, **kwargs)


@pytest.mark.parametrize("at", [1, 3])
@pytest.mark.parametrize("phase", ["stream", "vectors"])
def test_ctrl_c_during_accounting_counts_each_sample_once_in_report_and_log(
        ref, tmp_path, phase, at):
    with FakeBoard(EmulatorArithmetic(ref.qm)) as board, BoardClient.open(board.port) as client:
        client.info()
        log = InterruptedLog(tmp_path / "log.csv", CLASSES, at)
        verifier = Verifier(ref, log)
        with pytest.raises(KeyboardInterrupt):
            if phase == "stream":
                verifier.verify_stream(client, n=10_000)
            else:
                verifier.verify_vectors(client, *random_vectors(2_000))
        log.close()
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert verifier.metrics.samples == len(rows) > 0
    assert [int(r["n"]) for r in rows] == list(range(len(rows)))
