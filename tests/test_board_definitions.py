"""Definitions the emulator shares with the boards, pinned where a twin cannot catch a change.

A C board and the emulator that agree can still both be wrong when they are
generated from one wrong table; and a board's averaging has no generated twin
at all. So: the Uno's averaging (the real pn_app.c, compiled for the host) is
checked against ``emulator.average_counts``, whose rounding is pinned by hand;
the tanh tables of both formats are recomputed entry by entry from math.tanh;
and the training defaults are pinned to the values the model files record.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pixelnet import codegen
from pixelnet.codegen.emulator import average_counts
from pixelnet.codegen.quantize import direct_table, get_format, tanh_table
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import BoardError, Cmd, ErrorCode, Msg, unpack_error, unpack_sample
from pixelnet.trainer.estimator import PixelnetClassifier
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.training import TrainConfig

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware" / "arduino"
SKETCH = FIRMWARE / "pixelnet_uno"
DRIVER = FIRMWARE / "host_driver" / "pn_host_driver.c"
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1",
          "-fsanitize=address,undefined", "-fno-sanitize-recover=all")


def test_average_counts_rounds_half_up_and_never_truncates():
    assert average_counts([[0, 1, 2, 1023], [1, 2, 2, 1022]]).tolist() == [1, 2, 2, 1023]
    assert average_counts([[0] * 4, [0] * 4, [1] * 4]).tolist() == [0] * 4  # 1/3 rounds down
    assert average_counts([[0] * 4, [1] * 4, [1] * 4]).tolist() == [1] * 4  # 2/3 rounds up
    assert average_counts([[1023] * 4] * 64).tolist() == [1023] * 4
    with pytest.raises(ValueError):
        average_counts(np.zeros((0, 4)))


@pytest.fixture(scope="module")
def uno_core(tmp_path_factory) -> Path:
    """The Uno's protocol core (pn_app.c) and the lesson model, compiled for this machine."""
    work = tmp_path_factory.mktemp("uno_core")
    codegen.generate(lesson_model(), target="arduino-library", fmt="q7", out_dir=work / "lib",
                     prefix="pixelnet")
    src = work / "lib" / "src"
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a host C compiler (gcc) is needed to test the Uno's averaging"
    exe = work / "pn_host_driver"
    sources = [*(SKETCH / f"pn_{name}.c" for name in ("app", "frame", "text")), DRIVER,
               src / "pixelnet_model.c", src / "pixelnet.c"]
    subprocess.run([cc, *CFLAGS, f"-I{SKETCH}", f"-I{src}", "-o", str(exe), *map(str, sources)],
                   check=True, capture_output=True, text=True)
    return exe


def _uno_replies(exe: Path, wire: bytes, rows: np.ndarray) -> list:
    """The host-compiled Uno's replies (after its banner), each pixel reading ``rows`` in turn."""
    eeprom = exe.parent / "eeprom.bin"
    eeprom.unlink(missing_ok=True)
    result = subprocess.run([str(exe), str(eeprom), *map(str, rows.ravel().tolist())],
                            input=wire, capture_output=True, check=True)
    return FrameDecoder().feed(result.stdout)[1:]


def _uno_sample(exe: Path, rows: np.ndarray, averaging: int) -> tuple[int, ...]:
    wire = encode_frame(Cmd.AVERAGE, 1, bytes((averaging,))) + encode_frame(Cmd.SAMPLE, 2)
    ack, sample = _uno_replies(exe, wire, rows)
    assert (ack.type, ack.payload) == (Msg.ACK, bytes((Cmd.AVERAGE,)))  # taken, not refused
    return unpack_sample(sample.payload, 4, 4).adc


@pytest.mark.parametrize(("cmd", "payload", "code"), [
    (Cmd.AVERAGE, b"\x00", ErrorCode.BAD_ARG), (Cmd.AVERAGE, b"\x41", ErrorCode.BAD_ARG),
    (Cmd.CALIBRATE, b"\x03", ErrorCode.BAD_LENGTH),  # "set" without its 16 bytes of counts
])
def test_the_uno_refuses_what_lies_just_outside_the_ranges(uno_core, cmd, payload, code):
    (reply,) = _uno_replies(uno_core, encode_frame(cmd, 5, payload), np.array([[512] * 4]))
    assert reply.type == Msg.ERROR and unpack_error(reply.payload) == BoardError(code, cmd)


@pytest.mark.parametrize("averaging", [1, 2, 3, 4, 5, 7, 8, 16, 63, 64])
def test_the_uno_averages_its_readings_as_the_emulator_defines(uno_core, averaging):
    rng = np.random.default_rng(averaging)
    for trial in range(4):
        rows = rng.integers(0, 1024, size=(averaging, 4))
        if trial == 0:  # sums whose remainder is exactly n/2 or just above: rounding shows
            rows = np.array([[v % 1024 for v in (0, 1, 1023, 512 + k)]
                             for k in range(averaging)])
        got = _uno_sample(uno_core, rows, averaging)
        assert list(got) == average_counts(rows).tolist(), (averaging, rows.tolist())


def test_readings_that_only_rounding_gets_right(uno_core):
    rows = np.array([[0, 0, 1, 1022], [1, 1, 2, 1023]])  # means .5: truncation would be low
    assert _uno_sample(uno_core, rows, 2) == (1, 1, 2, 1023)


def _tanh_entries(fmt: str, z: list[float]) -> list[int]:
    f = get_format(fmt)
    return [min(math.floor(math.tanh(v) * 2**f.bits + 0.5), f.act_max) for v in z]


@pytest.mark.parametrize("fmt", ["q7", "q15"])
def test_the_tanh_table_is_round_tanh_at_every_node_and_saturates_where_tanh_does(fmt):
    f = get_format(fmt)
    nodes = [float(v) for v in f.node_z()]
    table = tanh_table(fmt)
    assert list(table) == _tanh_entries(fmt, nodes)
    first_full = next(k for k, z in enumerate(nodes) if math.tanh(z) * 2**f.bits >= f.act_max - 0.5)
    assert table[first_full] == f.act_max and table[first_full - 1] < f.act_max
    assert table[-1] == f.act_max


@pytest.mark.parametrize("fmt", ["q7", "q15"])
@pytest.mark.parametrize(("frac", "size"), [(3, 64), (5, 256), (8, 2048)])
def test_the_direct_tanh_table_is_round_tanh_at_every_step(fmt, frac, size):
    z = [k * 2.0**-frac for k in range(size)]
    assert list(direct_table(fmt, frac, size)) == _tanh_entries(fmt, z)


# What every model file records as its training metadata, and what the README's
# figures were made with: changing one is a decision, made here and in the docs.
DOCUMENTED_DEFAULTS = {
    "hidden": (4, 4, 8), "activations": ("tanh", "tanh", "relu"),
    "output_activation": "identity", "loss": "cross-entropy", "optimizer": "adam",
    "learning_rate": 0.03, "momentum": 0.9, "epochs": 200,
}


def test_training_defaults_are_the_documented_ones_in_the_config_and_the_estimator():
    config = TrainConfig()
    assert {k: getattr(config, k) for k in DOCUMENTED_DEFAULTS} == DOCUMENTED_DEFAULTS
    estimator = PixelnetClassifier()
    assert estimator.learning_rate == config.learning_rate
    assert estimator.momentum == config.momentum and estimator.max_iter == config.epochs
