"""The host against the real firmware on the virtual Uno: trace, handshake, raw inputs."""

from __future__ import annotations

import numpy as np
import pytest

from pixelnet.cli import main
from pixelnet.codegen.emulator import infer_trace, preprocess, quantize_inputs
from pixelnet.codegen.quantize import quantize
from pixelnet.host.client import BoardErrorReply
from pixelnet.host.connect import connect
from pixelnet.host.messages import CalOp, ErrorCode
from pixelnet.host.vectors import random_vectors
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model, save_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def uno(tmp_path_factory):
    from pixelnet.firmware.build import build_uno
    from pixelnet.firmware.virtual import start_virtual_board

    build = tmp_path_factory.mktemp("uno")
    elf = build_uno(lesson_model(), "q7", build).elf
    with start_virtual_board("uno", firmware=elf, state_dir=build, scene="diagonal_main",
                             build_dir=build) as board:
        yield board


@pytest.fixture(scope="module")
def qm():
    return quantize(lesson_model(), "q7")


def test_board_trace_equals_the_emulator_layer_by_layer(uno, qm):
    with connect(uno.port) as client:
        for x in quantize_inputs(qm, random_vectors(20)[0]):
            layers, result = client.trace(x.tolist())
            expected = infer_trace(qm, x[None, :])
            assert [list(layer.act) for layer in layers] == [e[0].tolist() for e in expected]
            assert list(result.out) == expected[-1][0].tolist()


def test_raw_counts_go_through_the_boards_calibration_like_the_emulator(uno, qm):
    with connect(uno.port) as client:
        cal = client.calibrate(CalOp.SET, dark=[40, 50, 60, 70], bright=[990, 980, 970, 960])
        adc = np.random.default_rng(2).integers(0, 1024, size=(200, 4))
        results = client.infer_many(adc.tolist(), raw=True)
        want = preprocess(qm, adc, cal.dark, cal.bright)
        assert [list(r.x) for r in results] == want.tolist()
        with pytest.raises(BoardErrorReply) as err:
            client.infer_raw([0, 0, 0, 1024])
        assert err.value.code == ErrorCode.BAD_ARG
        client.calibrate(CalOp.RESET)


def test_verify_names_both_hashes_when_the_board_runs_another_model(uno, tmp_path, capsys):
    other = Model(tuple(Layer(la.weights * 2, la.biases, la.activation)
                        for la in lesson_model().layers))
    path = save_model(other, tmp_path / "other.json")
    assert main(["verify", "--model", str(path), "--port", uno.port]) == 2
    err = capsys.readouterr().err
    assert lesson_model().short_hash in err and other.short_hash in err


def test_verify_command_on_the_virtual_uno(uno, tmp_path, capsys):
    path = save_model(lesson_model(), tmp_path / "lesson.json")
    code = main(["verify", "--model", str(path), "--port", uno.port, "--samples", "300",
                 "--scene-label", "diagonal_main", "--vectors", "random", "--vector-count",
                 "1000"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "samples compared      1,300" in out and "bit-exact mismatches  0" in out
    assert "diagonal" in out and "PASS" in out
