"""The virtual MicroPython board through pyserial: the real main.py on the unix port.

Every expected number comes from the integer emulator (pixelnet.codegen) or the
scene physics of the virtual-board contract, never from the board itself.
"""

from __future__ import annotations

import math
import shutil
import time

import numpy as np
import pytest
import serial

from pixelnet.codegen import classify, infer, infer_trace, preprocess, quantize
from pixelnet.firmware.virtual_micropython import (
    BoardFilesError,
    VirtualBoardError,
    compile_to_mpy,
    parse_control,
    prepare_micropython_files,
    scene_lines,
    start_virtual_micropython,
)
from pixelnet.host.client import BoardClient
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import (
    CalOp,
    Cmd,
    ErrorCode,
    Msg,
    unpack_error,
    unpack_info,
)
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class

FORMAT = "q7"
LIGHT, OFFSET = 0.9, 0.05  # the contract's defaults
READ_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def model():
    return lesson_model()


@pytest.fixture(scope="module")
def qm(model):
    return quantize(model, FORMAT)


@pytest.fixture(scope="module")
def board_dir(model, tmp_path_factory):
    return prepare_micropython_files(model, FORMAT, tmp_path_factory.mktemp("board"))


@pytest.fixture()
def vboard(board_dir, tmp_path):
    with start_virtual_micropython(board_dir, tmp_path / "fs") as board:
        yield board


@pytest.fixture()
def client(vboard):
    with BoardClient.open(vboard.port) as c:
        yield c


def scene_counts(pixels) -> tuple[int, ...]:
    """The contract's physics without noise: floor(v * 1023) per pixel."""
    return tuple(
        math.floor(min(1.0, max(0.0, OFFSET + LIGHT * (s + 1) / 2)) * 1023) for s in pixels
    )


def emulate(qm, x) -> tuple[np.ndarray, np.ndarray]:
    out = infer(qm, np.asarray(x, dtype=np.int64).reshape(-1, 4))
    return out, classify(out)


def test_handshake_reports_the_model_the_board_runs(client, qm):
    info = client.info()
    assert (info.proto, info.format, info.n_in, info.n_out) == (1, 7, 4, 4)
    assert info.n_layers == len(qm.layer_sizes)
    assert info.model_hash == qm.model_hash
    assert info.board == "virtual-micropython"
    assert not info.boot
    assert info.averaging == 1
    assert info.calibration.source_name == "default"
    assert info.calibration.dark == (0, 0, 0, 0)
    assert info.calibration.bright == (1023,) * 4


def test_each_clean_scene_streams_its_class(vboard, client, qm):
    cal = client.info().calibration
    for name, pixels in SCENES.items():
        client.stream(0)
        vboard.set_scene(name)
        client.stream(0xFFFF)
        got = [sample for _, sample in client.samples(5)]
        counts = scene_counts(pixels)
        x = preprocess(qm, np.array([counts]), cal.dark, cal.bright)
        out, cls = emulate(qm, x)
        for sample in got:
            assert sample.adc == counts, name
            assert sample.x == tuple(x[0]), name
            assert sample.out == tuple(out[0]), name
            assert sample.cls == cls[0] == CLASSES.index(scene_class(name)), name
    client.stream(0)
    assert client.stats.seq_gaps == 0


def test_ten_thousand_injected_vectors_equal_the_emulator(client, qm):
    rng = np.random.default_rng(4)
    x = rng.integers(-127, 128, size=(10_000, 4))
    x[:16] = np.array(np.meshgrid(*[[-127, 127]] * 4)).reshape(4, -1).T  # the corners
    results = client.infer_many(x.tolist())
    out, cls = emulate(qm, x)
    assert np.array_equal([r.x for r in results], x)
    assert np.array_equal([r.out for r in results], out)
    assert np.array_equal([r.cls for r in results], cls)
    assert all(r.adc == (0, 0, 0, 0) for r in results)


def test_raw_counts_go_through_the_calibration_like_the_emulator(client, qm):
    rng = np.random.default_rng(5)
    dark = rng.integers(0, 300, size=4)
    bright = dark + rng.integers(16, 1023 - 300, size=4)
    client.calibrate(CalOp.SET, dark.tolist(), bright.tolist())
    adc = rng.integers(0, 1024, size=(2_000, 4))
    adc[:2] = [[0] * 4, [1023] * 4]
    results = client.infer_many(adc.tolist(), raw=True)
    x = preprocess(qm, adc, dark, bright)
    out, cls = emulate(qm, x)
    assert np.array_equal([r.adc for r in results], adc)
    assert np.array_equal([r.x for r in results], x)
    assert np.array_equal([r.out for r in results], out)
    assert np.array_equal([r.cls for r in results], cls)


def test_traces_equal_the_emulator_layer_by_layer(client, qm):
    rng = np.random.default_rng(6)
    x = rng.integers(-127, 128, size=(200, 4))
    expected = infer_trace(qm, x)
    for i, vector in enumerate(x.tolist()):
        layers, result = client.trace(vector)
        assert [t.layer for t in layers] == list(range(len(qm.layer_sizes)))
        for t, want in zip(layers, expected, strict=True):
            assert t.act == tuple(want[i]), (vector, t.layer)
        assert result.out == tuple(expected[-1][i])


def random_model(seed: int) -> Model:
    """Biases and every activation, unlike the lesson's network."""
    rng = np.random.default_rng(seed)
    sizes, activations = (4, 6, 5, 4), ("tanh", "logistic", "identity")
    return Model(tuple(
        Layer(rng.normal(0, 1.5, (n_in, n_out)), rng.normal(0, 0.5, n_out), act)
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True)
    ))


@pytest.mark.parametrize(("fmt", "format_byte"), [("q15", 15), ("16x8", 0x8F)])
def test_an_int16_model_with_biases_equals_the_emulator(tmp_path, fmt, format_byte):
    model = random_model(9)
    qm15 = quantize(model, fmt)
    files = prepare_micropython_files(model, fmt, tmp_path / "board")
    x = np.random.default_rng(10).integers(-32767, 32768, size=(2_000, 4))
    x[0] = [-32767, 32767, 0, -1]
    with start_virtual_micropython(files, tmp_path / "fs") as vb, BoardClient.open(vb.port) as c:
        info = c.info()
        results = c.infer_many(x.tolist())
        traces = [c.trace(v)[0] for v in x[:50].tolist()]
    assert (info.format, info.n_layers, info.model_hash) == (format_byte, 3, qm15.model_hash)
    out, cls = emulate(qm15, x)
    assert np.array_equal([r.out for r in results], out)
    assert np.array_equal([r.cls for r in results], cls)
    expected = infer_trace(qm15, x[:50])
    for i, layers in enumerate(traces):
        assert [t.act for t in layers] == [tuple(e[i]) for e in expected]


def test_the_board_files_compile_with_mpy_cross(board_dir, tmp_path):
    for source in sorted(board_dir.glob("*.py")):
        copy = tmp_path / source.name
        shutil.copyfile(source, copy)
        assert compile_to_mpy(copy).stat().st_size > 0
    assert {p.name for p in board_dir.glob("*.py")} >= {"main.py", "pixelnet_model.py"}


def test_mpy_cross_errors_are_reported(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(BoardFilesError, match=r"cannot compile broken\.py"):
        compile_to_mpy(broken)


def test_precompiled_board_files_compute_the_same(model, qm, tmp_path):
    files = prepare_micropython_files(model, FORMAT, tmp_path / "board", precompile=True)
    assert sorted(p.name for p in files.iterdir()) == [
        "main.py", "package.json", "pixelnet_model.mpy", "pxapp.mpy", "pxboard.mpy", "pxcal.mpy",
        "pxframe.mpy", "pxtext.mpy",
    ]
    x = np.random.default_rng(11).integers(-127, 128, size=(1_000, 4))
    with start_virtual_micropython(files, tmp_path / "fs") as vb, BoardClient.open(vb.port) as c:
        results = c.infer_many(x.tolist())
    assert np.array_equal([r.out for r in results], emulate(qm, x)[0])


def test_calibration_survives_a_protocol_reset_and_a_hard_reset(vboard, client):
    vboard.set_scene("solid_black")
    dark = client.calibrate(CalOp.DARK).dark
    vboard.set_scene("solid_white")
    cal = client.calibrate(CalOp.BRIGHT)
    assert dark == scene_counts(SCENES["solid_black"])
    assert cal.bright == scene_counts(SCENES["solid_white"])
    assert (cal.dark, cal.source_name) == (dark, "session")

    boot = client.reset()
    assert boot.boot and boot.calibration.source_name == "stored"
    assert (boot.calibration.dark, boot.calibration.bright) == (cal.dark, cal.bright)

    vboard.reset()
    assert client.wait_for_boot(READ_TIMEOUT) is not None
    assert client.info().calibration == boot.calibration

    client.calibrate(CalOp.RESET)
    assert client.reset().calibration.source_name == "default"


def test_a_corrupt_calibration_file_means_the_defaults(board_dir, tmp_path):
    fs = tmp_path / "fs"
    with start_virtual_micropython(board_dir, fs) as vb, BoardClient.open(vb.port) as c:
        c.calibrate(CalOp.SET, [10, 20, 30, 40], [900, 901, 902, 903])
    stored = fs / "pixelnet_cal.bin"
    good = stored.read_bytes()
    for bad in (good[:-1], good[:5] + bytes([good[5] ^ 1]) + good[6:], b"\xff" * len(good)):
        stored.write_bytes(bad)
        with start_virtual_micropython(board_dir, fs) as vb, BoardClient.open(vb.port) as c:
            assert c.info().calibration.source_name == "default"
    stored.write_bytes(good)
    with start_virtual_micropython(board_dir, fs) as vb, BoardClient.open(vb.port) as c:
        assert c.info().calibration.dark == (10, 20, 30, 40)


def test_averaging_is_reported_and_smooths_noise(vboard, client, qm):
    client.set_averaging(64)
    assert client.info().averaging == 64
    vboard.set_scene("diagonal_main", noise=0.02, seed=3)
    samples = [client.sample() for _ in range(10)]
    want = CLASSES.index("diagonal")
    assert all(s.cls == want for s in samples)
    assert len({s.adc for s in samples}) > 1  # the noise is there, averaged down
    for s in samples:
        out, _ = emulate(qm, preprocess(qm, np.array([s.adc]), [0] * 4, [1023] * 4))
        assert s.out == tuple(out[0])


# -- protocol abuse, on the raw port ---------------------------------------


def read_frames(port: serial.Serial, decoder: FrameDecoder, n: int):
    frames = []
    deadline = time.monotonic() + READ_TIMEOUT
    while len(frames) < n and time.monotonic() < deadline:
        frames += decoder.feed(port.read(max(1, port.in_waiting)))
    assert len(frames) >= n, f"expected {n} frames, got {frames}"
    return frames


@pytest.fixture()
def raw(vboard):
    with serial.Serial(vboard.port, 115200, timeout=0.05) as port:
        yield port, FrameDecoder()


def errors_for(raw, wire: bytes, n: int = 1):
    port, decoder = raw
    port.write(wire)
    frames = read_frames(port, decoder, n)
    assert all(f.type == Msg.ERROR for f in frames), frames
    return [(f.seq, unpack_error(f.payload)) for f in frames]


def still_answers(raw, seq: int = 77) -> None:
    port, decoder = raw
    port.write(encode_frame(Cmd.INFO, seq))
    (frame,) = read_frames(port, decoder, 1)
    assert (frame.type, frame.seq) == (Msg.INFO, seq)
    assert unpack_info(frame.payload).board == "virtual-micropython"


def test_random_bytes_get_error_replies_and_the_board_keeps_answering(raw):
    rng = np.random.default_rng(7)
    garbage = rng.integers(0, 256, size=20_000, dtype=np.uint8).tobytes()
    port, decoder = raw
    port.write(garbage + b"\x00" + encode_frame(Cmd.INFO, 77))
    frames = []
    deadline = time.monotonic() + READ_TIMEOUT
    while not any(f.type == Msg.INFO and f.seq == 77 for f in frames):
        assert time.monotonic() < deadline, frames
        frames += decoder.feed(port.read(max(1, port.in_waiting)))
    errors = [unpack_error(f.payload) for f in frames if f.type == Msg.ERROR]
    assert len(errors) == len(frames) - 1 > 10
    assert {e.code for e in errors} <= {ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME,
                                        ErrorCode.TOO_LONG}


def test_a_10kb_line_is_one_too_long_error(raw):
    ((seq, error),) = errors_for(raw, b"A" * 10_000 + b"\x00")
    assert (seq, error.code, error.cmd) == (0, ErrorCode.TOO_LONG, 0)
    still_answers(raw)


def test_half_frames_are_dropped_with_an_error(raw):
    wire = encode_frame(Cmd.INFER, 5, bytes(8))
    ((seq, error),) = errors_for(raw, wire[: len(wire) // 2] + b"\x00")
    assert seq == 0 and error.code in (ErrorCode.BAD_FRAME, ErrorCode.BAD_CRC)
    ((_, error),) = errors_for(raw, wire[:-3] + bytes([wire[-3] ^ 0x55]) + wire[-2:])
    assert error.code == ErrorCode.BAD_CRC
    still_answers(raw)


@pytest.mark.parametrize(
    ("msg_type", "payload", "code"),
    [
        (0x00, b"", ErrorCode.UNKNOWN),
        (0x0C, b"\x01", ErrorCode.UNKNOWN),
        (Msg.INFO, b"", ErrorCode.UNKNOWN),  # a board message sent to the board
        (0xFF, bytes(60), ErrorCode.UNKNOWN),
        (Cmd.INFO, b"\x01", ErrorCode.BAD_LENGTH),
        (Cmd.INFER, bytes(7), ErrorCode.BAD_LENGTH),
        (Cmd.INFER_RAW, bytes(10), ErrorCode.BAD_LENGTH),
        (Cmd.TRACE, b"", ErrorCode.BAD_LENGTH),
        (Cmd.STREAM, b"\x01", ErrorCode.BAD_LENGTH),
        (Cmd.CALIBRATE, b"", ErrorCode.BAD_LENGTH),
        (Cmd.CALIBRATE, b"\x03" + bytes(8), ErrorCode.BAD_LENGTH),
        (Cmd.CALIBRATE, b"\x00\x00", ErrorCode.BAD_LENGTH),
        (Cmd.AVERAGE, b"", ErrorCode.BAD_LENGTH),
        (Cmd.SAMPLE, b"\x00", ErrorCode.BAD_LENGTH),
        (Cmd.RESET, b"\x00", ErrorCode.BAD_LENGTH),
        (Cmd.INFER, (128).to_bytes(2, "little") + bytes(6), ErrorCode.BAD_ARG),
        (Cmd.INFER, bytes(6) + (-128).to_bytes(2, "little", signed=True), ErrorCode.BAD_ARG),
        (Cmd.TRACE, (-32768).to_bytes(2, "little", signed=True) + bytes(6), ErrorCode.BAD_ARG),
        (Cmd.INFER_RAW, (1024).to_bytes(2, "little") + bytes(6), ErrorCode.BAD_ARG),
        (Cmd.AVERAGE, b"\x00", ErrorCode.BAD_ARG),
        (Cmd.AVERAGE, b"\x41", ErrorCode.BAD_ARG),
        (Cmd.CALIBRATE, b"\x04", ErrorCode.BAD_ARG),
        (Cmd.CALIBRATE, b"\x04" + bytes(16), ErrorCode.BAD_LENGTH),
        (Cmd.CALIBRATE, b"\x03" + bytes(8) + (15).to_bytes(2, "little") * 4, ErrorCode.BAD_ARG),
        (Cmd.CALIBRATE, b"\x03" + bytes(8) + (1024).to_bytes(2, "little") * 4, ErrorCode.BAD_ARG),
    ],
)
def test_bad_commands_get_the_right_error(raw, msg_type, payload, code):
    ((seq, error),) = errors_for(raw, encode_frame(msg_type, 200, payload))
    assert (seq, error.code, error.cmd) == (200, code, msg_type)
    still_answers(raw)


def test_commands_interleave_with_streaming(client, qm):
    client.stream(0xFFFF)
    x = np.random.default_rng(8).integers(-127, 128, size=(500, 4))
    results = client.infer_many(x.tolist())
    info = client.info()
    layers, _ = client.trace([1, 2, 3, 4])
    streamed = list(client.samples(20))
    client.stream(0)
    out, _ = emulate(qm, x)
    assert np.array_equal([r.out for r in results], out)
    assert info.model_hash == qm.model_hash and len(layers) == len(qm.layer_sizes)
    assert len(streamed) == 20
    stats = client.stats
    assert stats.stream_samples > 0 and stats.seq_gaps == 0 and stats.bad_crc == 0


@pytest.mark.parametrize("rate", [0xFFFF, 5000])
def test_fast_rates_stream_consecutive_samples_no_faster_than_the_line(client, rate):
    client.stream(rate)
    start = time.monotonic()
    seqs = [seq for seq, _ in client.samples(60)]
    elapsed = time.monotonic() - start
    client.stream(0)
    assert seqs == [(seqs[0] + i) & 0xFF for i in range(60)]
    assert elapsed > 59 / 372  # 115200 baud / 10 bits / 31-byte frames = 371 samples/s


# -- the virtual board itself ----------------------------------------------


def test_control_lines_set_the_scene_and_report_mistakes(vboard, client):
    assert vboard.control("scene horizontal_bottom") == "ok"
    assert client.sample().cls == CLASSES.index("horizontal")
    assert vboard.control("pixels 1 -1 -1 1") == "ok"
    assert vboard.control("light 0.5") == "ok"
    assert vboard.control("offset 0 0 0 0") == "ok"
    assert client.sample().adc == (511, 0, 0, 511)  # floor(0.5 * 1023)
    for bad in ("scene nowhere", "pixels 1 2", "pixels 1 1 1 2", "light x", "noise -1",
                "seed -3", "gain 1 1 1", "jump", ""):
        assert vboard.control(bad).startswith("error: "), bad
    assert vboard.control("reset") == "ok"
    boot = client.wait_for_boot(READ_TIMEOUT)
    assert boot is not None and boot.boot
    assert client.sample().adc == (511, 0, 0, 511)  # the scene outlives the restart


def test_the_adc_follows_the_scene_physics_per_pixel(vboard, client):
    pixels, gain, offset = [0.0, 0.5, -0.5, 1.0], [1.0, 0.5, 2.0, 1.0], [0.0, 0.1, 0.0, -0.2]
    vboard.set_scene(pixels, light=1.0, gain=gain, offset=offset)
    expected = tuple(
        math.floor(min(1.0, max(0.0, o + g * 1.0 * (s + 1) / 2)) * 1023)
        for s, g, o in zip(pixels, gain, offset, strict=True)
    )
    assert client.sample().adc == expected == (511, 485, 511, 818)


def test_the_same_seed_gives_the_same_noisy_readings(vboard, client):
    vboard.set_scene("vertical_left", noise=0.05, seed=5)
    first = [client.sample().adc for _ in range(5)]
    vboard.set_scene(seed=5)
    again = [client.sample().adc for _ in range(5)]
    vboard.set_scene(seed=6)
    other = [client.sample().adc for _ in range(5)]
    assert first == again != other
    assert len(set(first)) == 5


def test_a_realtime_board_streams_the_scene_it_was_started_with(board_dir, tmp_path):
    fs = tmp_path / "fs"
    with start_virtual_micropython(board_dir, fs, scene="horizontal_top", realtime=True) as vb, \
            BoardClient.open(vb.port) as c:
        c.stream(100)
        got = [sample for _, sample in c.samples(5)]
    assert all(s.adc == scene_counts(SCENES["horizontal_top"]) for s in got)
    assert all(s.cls == CLASSES.index("horizontal") for s in got)


def test_scene_lines_are_checked_before_they_reach_the_board():
    assert scene_lines("vertical_left") == {"pixels": "pixels 1.0 -1.0 1.0 -1.0"}
    assert parse_control("seed 12") == {"seed": "seed 12"}
    assert parse_control("quit") == "quit"
    with pytest.raises(VirtualBoardError, match="unknown scene"):
        scene_lines("plaid")
    with pytest.raises(VirtualBoardError, match="4 numbers"):
        scene_lines([0.0, 1.0])
    with pytest.raises(VirtualBoardError, match="finite"):
        scene_lines(light=float("nan"))


def test_a_board_directory_without_the_model_is_refused(tmp_path):
    (tmp_path / "main.py").write_text("")
    with pytest.raises(VirtualBoardError, match=r"pixelnet_model\.py"):
        start_virtual_micropython(tmp_path, tmp_path / "fs")


def test_a_firmware_that_crashes_at_boot_shows_its_traceback(board_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in board_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "pxapp.py").write_text("raise ValueError('wired wrong')\n")
    with pytest.raises(VirtualBoardError, match="wired wrong"):
        start_virtual_micropython(broken, tmp_path / "fs")


def test_close_stops_the_board_and_can_be_repeated(board_dir, tmp_path):
    vb = start_virtual_micropython(board_dir, tmp_path / "fs")
    assert vb.running
    vb.close()
    vb.close()
    assert not vb.running
    with pytest.raises(VirtualBoardError, match="closed"):
        vb.set_scene("solid_black")
