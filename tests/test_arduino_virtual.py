"""The Uno firmware built with the Arduino core, run on the virtual Uno (simavr) through pyserial.

Every number the board sends is recomputed with the integer emulator
(``pixelnet.codegen``) from what the board reports it saw, and must be equal.
Sizes and cycle counts come from avr-size and simavr, both deterministic.
"""

from __future__ import annotations

import itertools
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from pixelnet import codegen
from pixelnet.codegen.toolchain import find_tool
from pixelnet.errors import PixelnetError, ToolMissingError
from pixelnet.firmware import build
from pixelnet.firmware.arduino_builder import compile_sketch
from pixelnet.firmware.boards import BOARDS
from pixelnet.firmware.build import BuildError, build_uno, firmware_version
from pixelnet.firmware.virtual import start_virtual_board
from pixelnet.host.client import BoardClient
from pixelnet.host.connect import open_port
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import (
    CalOp,
    Cmd,
    ErrorCode,
    Msg,
    pack_vector,
    unpack_error,
    unpack_info,
    unpack_sample,
)
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.patterns import CLASSES, SCENES, scene_class
from pixelnet.trainer.train import train_default

pytestmark = pytest.mark.slow

FLASH_BUDGET = 12 * 1024  # a third of the Uno's flash: the rest stays the user's
UNO_FLASH_BYTES = 32 * 1024 - 512  # minus the Optiboot bootloader
RAM_BUDGET = 1024  # static RAM plus peak stack
FRAME_WAIT = 5.0  # s of wall clock for an expected frame (simavr runs faster than real time)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uno_build")


@pytest.fixture(scope="module", params=["core", "bare"])
def firmware(request, build_dir):
    """The q7 lesson firmware, with the Arduino core and with plain avr-gcc."""
    model = lesson_model()
    with_core = request.param == "core"
    result = build_uno(model, "q7", build_dir / f"q7-{request.param}", core=with_core)
    return result, codegen.quantize(model, "q7")


@pytest.fixture
def vboard(firmware, build_dir, tmp_path):
    result, _ = firmware
    board = start_virtual_board("uno", firmware=result.elf, state_dir=tmp_path / "state",
                                build_dir=build_dir)
    with board:
        yield board


@pytest.fixture
def client(vboard):
    with BoardClient.open(vboard.port) as c:
        yield c


class RawLink:
    """Bytes in, checked frames out: for abuse the client would refuse to send."""

    def __init__(self, port: str) -> None:
        self.port = open_port(port)
        self.port.timeout = 0.05
        self.decoder = FrameDecoder()

    def send(self, data: bytes) -> None:
        for i in range(0, len(data), 256):
            self.port.write(data[i : i + 256])
        self.port.flush()

    def frames_until(self, done, timeout: float = FRAME_WAIT) -> list:
        frames: list = []
        deadline = time.monotonic() + timeout
        while not done(frames):
            assert time.monotonic() < deadline, f"board went quiet; got {frames}"
            frames += self.decoder.feed(self.port.read(512))
        return frames

    def close(self) -> None:
        self.port.close()


def _errors(frames) -> list[tuple[int, int, int]]:
    """(seq, code, offending command) of every ERROR frame."""
    errors = []
    for frame in frames:
        if frame.type == Msg.ERROR:
            error = unpack_error(frame.payload)
            errors.append((frame.seq, error.code, error.cmd))
    return errors


def _replied(seq: int, msg: Msg):
    return lambda frames: any(f.seq == seq and f.type == msg for f in frames)


# ---- the build ----


def test_firmware_fits_the_budget_and_carries_chip_and_clock(firmware):
    result, _ = firmware
    assert result.flash_bytes <= FLASH_BUDGET
    assert result.ram_bytes < RAM_BUDGET
    assert result.hex.read_text().startswith(":") and result.elf.read_bytes()[:4] == b"\x7fELF"
    assert b"atmega328p" in result.elf.read_bytes()  # simavr's .mmcu stamp
    assert b"atmega328p" not in result.hex.read_bytes()


def test_exported_sketch_opens_in_the_arduino_ide(build_dir):
    sketch = build_uno(lesson_model(), "q7", build_dir / "ide").sketch_dir
    assert (sketch / f"{sketch.name}.ino").is_file()
    assert {"pixelnet_model.h", "pixelnet_model.c", "pn_app.c", "pn_frame.c"} <= {
        p.name for p in sketch.iterdir()
    }
    assert not list(sketch.glob("pn_bare*"))  # the bare main() would clash with the core's


def _symbols(elf: Path) -> str:
    return subprocess.run([find_tool("avr-nm", "binutils-avr"), "-C", str(elf)],
                          capture_output=True, text=True, check=True).stdout


def test_the_sketch_builds_in_the_arduino_ide_without_the_cores_serial(build_dir, tmp_path):
    """The IDE's own builder compiles the exported sketch (no warning in our files), and
    neither build links HardwareSerial: the firmware drives UART0 itself (pn_uart0.c)."""
    ours = build_uno(lesson_model(), "q7", build_dir / "ide-check")
    ide = compile_sketch(ours.sketch_dir / f"{ours.sketch_dir.name}.ino", BOARDS["uno"].fqbn,
                         tmp_path / "ide")
    assert ide.flash_bytes <= FLASH_BUDGET
    for elf in (ours.elf, ide.elf):
        symbols = _symbols(elf)
        assert "pn_hw_write" in symbols and "HardwareSerial" not in symbols


def test_q15_and_a_custom_prefix_build(tmp_path):
    result = build_uno(lesson_model(), "q15", tmp_path, prefix="cam")
    assert (result.sketch_dir / "cam_model.h").is_file()
    # the 8 KB budget is the default q7 firmware's; q15 tables are twice as wide
    assert result.flash_bytes <= UNO_FLASH_BYTES


def test_our_files_compile_with_werror(tmp_path, monkeypatch):
    """A warning in our files fails the build, so a successful build had none."""
    sketch = tmp_path / "sketch"
    shutil.copytree(build.SKETCH_SOURCE, sketch)
    with (sketch / "pn_frame.c").open("a") as f:
        f.write("\nstatic int pn_unused_on_purpose;\n")
    monkeypatch.setattr(build, "SKETCH_SOURCE", sketch)
    with pytest.raises(BuildError, match="pn_unused_on_purpose"):
        build_uno(lesson_model(), "q7", tmp_path / "out")


def test_missing_core_and_compiler_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELNET_ARDUINO_AVR", str(tmp_path))
    with pytest.raises(ToolMissingError, match="Arduino AVR core"):
        build_uno(lesson_model(), "q7", tmp_path / "out")
    assert build_uno(lesson_model(), "q7", tmp_path / "bare", core=False).hex.is_file()
    monkeypatch.delenv("PIXELNET_ARDUINO_AVR")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="avr-gcc"):
        build_uno(lesson_model(), "q7", tmp_path / "out")


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(PixelnetError, match="q8"):
        build_uno(lesson_model(), "q8", tmp_path)


# ---- on the virtual Uno ----


def test_handshake(client, firmware):
    _, qm = firmware
    info = client.info()
    assert info.proto == 1 and info.board == "uno" and info.firmware == firmware_version()
    assert info.model_hash == qm.model_hash and info.format == 7
    assert (info.n_in, info.n_out, info.n_layers) == (4, 4, len(qm.layer_sizes))
    boot = client.reset()
    assert boot.boot and boot.model_hash == qm.model_hash


@pytest.mark.parametrize("scene", list(SCENES))
def test_each_clean_scene_streams_its_class(client, vboard, firmware, scene):
    _, qm = firmware
    vboard.set_scene(scene)
    client.stream(200)
    got = [s for _, s in client.samples(5)]
    client.stream(0)
    adc = np.array([s.adc for s in got])
    x = codegen.preprocess(qm, adc, np.zeros(4, int), np.full(4, 1023))
    out = codegen.infer(qm, x)
    assert np.array_equal([s.x for s in got], x) and np.array_equal([s.out for s in got], out)
    assert {CLASSES[s.cls] for s in got} == {scene_class(scene)}


def test_ten_thousand_injected_vectors_equal_the_emulator(client, firmware):
    _, qm = firmware
    rng = np.random.default_rng(10_000)
    xs = rng.integers(-127, 128, size=(7000, 4))
    results = client.infer_many(xs.tolist())
    out = codegen.infer(qm, xs)
    assert np.array_equal([r.x for r in results], xs)
    assert np.array_equal([r.out for r in results], out)
    assert [r.cls for r in results] == codegen.classify(out).tolist()

    dark, bright = (40, 60, 30, 50), (900, 1000, 700, 1010)
    client.calibrate(CalOp.SET, dark, bright)
    adc = rng.integers(0, 1024, size=(3000, 4))
    raw = client.infer_many(adc.tolist(), raw=True)
    x = codegen.preprocess(qm, adc, np.array(dark), np.array(bright))
    assert np.array_equal([r.adc for r in raw], adc) and np.array_equal([r.x for r in raw], x)
    assert np.array_equal([r.out for r in raw], codegen.infer(qm, x))
    assert client.stats.board_errors == 0


def test_traces_equal_the_emulator(client, firmware):
    _, qm = firmware
    xs = np.random.default_rng(5).integers(-127, 128, size=(40, 4))
    want = codegen.infer_trace(qm, xs)
    for i, x in enumerate(xs):
        layers, result = client.trace(x.tolist())
        assert [t.layer for t in layers] == list(range(len(want)))
        assert [list(t.act) for t in layers] == [w[i].tolist() for w in want]
        assert result.out == tuple(want[-1][i])


def test_calibration_survives_reset_and_restart(firmware, build_dir, tmp_path):
    result, _ = firmware
    state = tmp_path / "state"
    dark, bright = (11, 22, 33, 44), (1001, 1002, 1003, 1004)
    def boot():
        board = start_virtual_board("uno", firmware=result.elf, state_dir=state,
                                    build_dir=build_dir)
        return board, BoardClient.open(board.port)

    board, client = boot()
    with board, client:
        assert client.info().calibration.source == 0
        client.calibrate(CalOp.SET, dark, bright)
        info = client.reset()  # the watchdog restart
        assert (info.calibration.dark, info.calibration.bright) == (dark, bright)
        assert info.calibration.source == 1
        board.reset()  # hard reset, as DTR
        cal = client.info().calibration
        assert (cal.dark, cal.bright, cal.source) == (dark, bright, 1)
    board, client = boot()  # a new simulator on the same EEPROM file
    with board, client:
        cal = client.info().calibration
        assert (cal.dark, cal.bright, cal.source) == (dark, bright, 1)
        assert client.calibrate(CalOp.RESET).source == 0


def test_dark_and_bright_measured_from_the_scene(client, vboard):
    vboard.set_scene("solid_black")
    dark = client.calibrate(CalOp.DARK)
    vboard.set_scene("solid_white")
    cal = client.calibrate(CalOp.BRIGHT)
    assert all(d < 100 for d in dark.dark) and all(b > 900 for b in cal.bright)
    assert cal.dark == dark.dark and cal.source == 2
    sample = client.sample()
    assert sample.x == (127, 127, 127, 127)


def test_averaging_changes_what_is_read(client, vboard):
    vboard.set_scene("solid_white", noise=0.05, seed=3)
    client.set_averaging(64)
    assert client.info().averaging == 64
    averaged = [client.sample().adc for _ in range(4)]
    client.set_averaging(1)
    single = [client.sample().adc for _ in range(4)]
    assert np.std(averaged) < np.std(single)


def test_abuse_gets_error_replies_and_the_board_keeps_answering(vboard):
    link = RawLink(vboard.port)
    try:
        rng = random.Random(7)
        link.send(b"\x00" + bytes(rng.randrange(1, 256) for _ in range(10_000)) + b"\x00")
        link.send(encode_frame(Cmd.INFO, 1))
        frames = link.frames_until(_replied(1, Msg.INFO))
        assert (0, ErrorCode.TOO_LONG, 0) in _errors(frames)

        half = encode_frame(Cmd.INFO, 2)[:3]
        link.send(half + encode_frame(Cmd.INFO, 3))
        frames = link.frames_until(lambda fs: _errors(fs))
        assert len(_errors(frames)) == 1
        assert _errors(frames)[0] in {(0, ErrorCode.BAD_CRC, 0), (0, ErrorCode.BAD_FRAME, 0)}
        link.send(b"\x01\x02\x03\x00")
        assert _errors(link.frames_until(lambda fs: _errors(fs))) == [
            (0, ErrorCode.BAD_FRAME, 0)
        ]
        bad_crc = bytearray(encode_frame(Cmd.INFO, 4))
        bad_crc[2] ^= 0x40
        link.send(bytes(bad_crc))
        assert _errors(link.frames_until(lambda fs: _errors(fs))) == [(0, ErrorCode.BAD_CRC, 0)]

        for seq, kind in enumerate((0x00, 0x0C, 0x81, 0xFF), start=10):
            link.send(encode_frame(kind, seq, b"\x05"))
            assert _errors(link.frames_until(lambda fs: _errors(fs))) == [
                (seq, ErrorCode.UNKNOWN, kind)
            ]
        link.send(encode_frame(Cmd.INFER, 20, b"\x01\x02\x03"))
        assert _errors(link.frames_until(lambda fs: _errors(fs))) == [
            (20, ErrorCode.BAD_LENGTH, Cmd.INFER)
        ]
        link.send(encode_frame(Cmd.AVERAGE, 21, b"\x00"))
        assert _errors(link.frames_until(lambda fs: _errors(fs))) == [
            (21, ErrorCode.BAD_ARG, Cmd.AVERAGE)
        ]
        garbage = bytes(rng.randrange(256) for _ in range(3000))
        link.send(garbage + b"\x00" + encode_frame(Cmd.INFO, 22))
        frames = link.frames_until(_replied(22, Msg.INFO))
        assert not unpack_info(frames[-1].payload).boot  # answered, not restarted
    finally:
        link.close()


def test_commands_interleave_with_the_stream(vboard, firmware):
    _, qm = firmware
    link = RawLink(vboard.port)
    try:
        link.send(b"\x00" + encode_frame(Cmd.STREAM, 1, struct.pack("<H", 0xFFFF)))
        link.frames_until(lambda fs: sum(f.type == Msg.SAMPLE for f in fs) >= 5)
        xs = np.random.default_rng(2).integers(-127, 128, size=(30, 4))
        frames = []
        for i, x in enumerate(xs):
            link.send(encode_frame(Cmd.INFER, 100 + i, pack_vector(tuple(map(int, x)))))
            frames += link.frames_until(_replied(100 + i, Msg.RESULT))
        link.send(encode_frame(0x55, 200) + encode_frame(Cmd.INFO, 201))
        frames += link.frames_until(_replied(201, Msg.INFO))
        assert (200, ErrorCode.UNKNOWN, 0x55) in _errors(frames)
        results = {f.seq: unpack_sample(f.payload, 4, 4) for f in frames if f.type == Msg.RESULT}
        assert np.array_equal([results[100 + i].out for i in range(len(xs))], codegen.infer(qm, xs))
        stream = [f.seq for f in frames if f.type == Msg.SAMPLE]
        assert len(stream) > 30
        assert all((b - a) % 256 == 1 for a, b in itertools.pairwise(stream))
        link.send(encode_frame(Cmd.STREAM, 2, b"\x00\x00"))
        link.frames_until(_replied(2, Msg.ACK))
    finally:
        link.close()


@pytest.mark.parametrize(("fmt", "format_byte"), [("q15", 15), ("16x8", 0x8F)])
def test_int16_firmware_equals_the_emulator(build_dir, tmp_path, fmt, format_byte):
    """q15 with the lesson's ternary weights; 16x8 (int8 weights) with the trained default
    network's, through the shared loop's assembly."""
    model = lesson_model() if fmt == "q15" else train_default()
    qm = codegen.quantize(model, fmt)
    result = build_uno(model, fmt, build_dir / fmt)
    xs = np.random.default_rng(15).integers(-32767, 32768, size=(1000, 4))
    with start_virtual_board("uno", firmware=result.elf, state_dir=tmp_path,
                             build_dir=build_dir) as board, BoardClient.open(board.port) as client:
        assert client.info().format == format_byte
        results = client.infer_many(xs.tolist())
        layers, _ = client.trace(xs[0].tolist())
        board.set_scene("diagonal_main")
        assert CLASSES[client.sample().cls] == "diagonal"
    assert np.array_equal([r.out for r in results], codegen.infer(qm, xs))
    assert [list(t.act) for t in layers] == [w[0].tolist() for w in codegen.infer_trace(qm, xs)]


def test_a_long_stream_never_trips_the_watchdog(client, vboard):
    """Over 3 simulated seconds (the watchdog fires after 1 s unfed) the board never restarts."""
    client.info()
    start = vboard.cycle_stats().cycles
    client.stream(0xFFFF)
    seqs = [seq for seq, _ in client.samples(1100)]
    client.stream(0)
    assert (vboard.cycle_stats().cycles - start) / 16e6 > 3.0
    assert client.stats.resets == 0 and client.stats.seq_gaps == 0
    assert all((b - a) % 256 == 1 for a, b in itertools.pairwise(seqs))


def test_a_flood_of_bad_frames_never_trips_the_watchdog(vboard):
    """Each 2-byte bad frame costs an 8-byte reply, so for the 3.5 s the flood lasts the
    board is busy sending and drops input; it must neither restart nor stop answering."""
    link = RawLink(vboard.port)
    try:
        link.send(encode_frame(Cmd.INFO, 99))
        link.frames_until(_replied(99, Msg.INFO))  # past the boot banner
        link.send(b"\x01\x00" * 20_000)
        frames = link.frames_until(lambda fs: len(fs) > 5000, timeout=60)
        for attempt in range(20):  # the first INFOs may arrive while the input is full
            link.send(encode_frame(Cmd.INFO, attempt))
            try:
                frames += link.frames_until(_replied(attempt, Msg.INFO), timeout=0.5)
                break
            except AssertionError:
                continue
        assert any(f.type == Msg.INFO and not unpack_info(f.payload).boot for f in frames)
        assert not any(f.type == Msg.INFO and unpack_info(f.payload).boot for f in frames)
        assert {code for _, code, _ in _errors(frames)} == {ErrorCode.BAD_FRAME}
    finally:
        link.close()
