"""The Uno's protocol core (pn_app.c + pn_frame.c), compiled for the host, against the Python codec.

The driver (firmware/arduino/host_driver/pn_host_driver.c) feeds stdin to the
very C code the Uno runs and writes the board's replies to stdout; the EEPROM is
a file. Replies are decoded with ``pixelnet.host.frames`` and must be the exact
bytes ``encode_frame`` would produce; the receiver must take the same decisions
as ``FrameDecoder`` on random and hostile streams; the numbers must equal the
integer emulator's.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from serial_lines import text_line

from pixelnet import codegen
from pixelnet.firmware.build import firmware_version
from pixelnet.host.frames import FrameDecoder, encode_frame
from pixelnet.host.messages import (
    CalOp,
    Cmd,
    ErrorCode,
    Msg,
    pack_vector,
    unpack_calibration,
    unpack_error,
    unpack_info,
    unpack_sample,
    unpack_trace,
)
from pixelnet.trainer.lesson import lesson_model

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware" / "arduino"
SKETCH = FIRMWARE / "pixelnet_uno"
DRIVER = FIRMWARE / "host_driver" / "pn_host_driver.c"
ADC = (100, 900, 350, 700)
# The sanitizers turn any out-of-bounds access or undefined arithmetic into a failure.
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g",
          "-fsanitize=address,undefined", "-fno-sanitize-recover=all")


@pytest.fixture(scope="module", params=["q7", "q15"])
def board(request, tmp_path_factory):
    """The host-compiled board for the lesson model in one number format, and its emulator."""
    fmt = request.param
    work = tmp_path_factory.mktemp(f"host_board_{fmt}")
    model = lesson_model()
    codegen.generate(model, target="arduino-library", fmt=fmt, out_dir=work / "lib",
                     prefix="pixelnet")
    src = work / "lib" / "src"
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a host C compiler (gcc) is needed to test the protocol core"
    exe = work / "pn_host_driver"
    sources = [SKETCH / "pn_app.c", SKETCH / "pn_frame.c", SKETCH / "pn_text.c", DRIVER,
               src / "pixelnet_model.c", src / "pixelnet.c"]
    subprocess.run(
        [cc, *CFLAGS, f"-I{SKETCH}", f"-I{src}", "-o", str(exe), *map(str, sources)],
        check=True, capture_output=True, text=True,
    )
    return HostBoard(exe, work / "eeprom.bin", codegen.quantize(model, fmt))


class HostBoard:
    def __init__(self, exe: Path, eeprom: Path, qm) -> None:
        self.exe, self.eeprom, self.qm = exe, eeprom, qm

    def run_bytes(self, data: bytes, adc=ADC, fresh: bool = True) -> bytes:
        if fresh:
            self.eeprom.unlink(missing_ok=True)
        result = subprocess.run(
            [str(self.exe), str(self.eeprom), *map(str, adc)], input=data, capture_output=True,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout

    def run(self, data: bytes, **kw):
        """Every reply after the boot banner, plus the banner."""
        wire = self.run_bytes(data, **kw)
        decoder = FrameDecoder()
        frames = decoder.feed(wire)
        assert decoder.stats.frames == len(frames) and decoder.stats.garbage_bytes == 0
        # every boot banner comes after a lone delimiter (PROTOCOL.md)
        assert b"".join(
            (b"\x00" if _is_boot(f) else b"") + encode_frame(f.type, f.seq, f.payload)
            for f in frames
        ) == wire
        boot = frames[0]
        assert boot.type == Msg.INFO and boot.seq == 0 and unpack_info(boot.payload).boot
        return boot, frames[1:]


def _is_boot(frame) -> bool:
    return frame.type == Msg.INFO and unpack_info(frame.payload).boot


def cmd(c: int, seq: int = 7, payload: bytes = b"") -> bytes:
    return encode_frame(int(c), seq, payload)


def error_of(frame) -> tuple[int, int, int]:
    assert frame.type == Msg.ERROR
    err = unpack_error(frame.payload)
    return frame.seq, err.code, err.cmd


def test_boot_banner_and_info_describe_the_model(board):
    _, (reply,) = board.run(cmd(Cmd.INFO, 42))
    info = unpack_info(reply.payload)
    assert reply.seq == 42 and not info.boot
    assert info.proto == 1 and info.board == "uno" and info.firmware == firmware_version()
    assert info.format == board.qm.format_bits and info.model_hash == board.qm.model_hash
    assert (info.n_in, info.n_out, info.n_layers) == (4, 4, len(board.qm.layer_sizes))
    assert info.averaging == 1
    assert info.calibration.dark == (0,) * 4 and info.calibration.bright == (1023,) * 4
    assert info.calibration.source == 0


def _expected_events(stream: bytes) -> list[tuple]:
    """The Python decoder's decision after every byte, in order."""
    decoder = FrameDecoder()
    events = []
    for byte in stream:
        before = (decoder.stats.bad_crc, decoder.stats.bad_frame, decoder.stats.too_long)
        for frame in decoder.feed(bytes([byte])):
            events.append(("frame", frame.type, frame.seq))
        after = (decoder.stats.bad_crc, decoder.stats.bad_frame, decoder.stats.too_long)
        codes = (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.TOO_LONG)
        for code, b, a in zip(codes, before, after, strict=True):
            events += [("error", int(code))] * (a - b)
    return events


def _hostile_stream(rng: random.Random) -> bytes:
    parts = []
    for _ in range(400):
        kind = rng.randrange(6)
        good = cmd(Cmd.INFO, rng.randrange(256))
        if kind == 0:
            parts.append(good)
        elif kind == 1:  # one flipped byte
            bad = bytearray(good)
            bad[rng.randrange(len(bad) - 1)] ^= 1 << rng.randrange(8)
            parts.append(bytes(bad))
        elif kind == 2:  # a half frame, then the next one
            parts.append(good[: rng.randrange(1, len(good) - 1)])
        elif kind == 3:  # random bytes, zeros included
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
        elif kind == 4:  # longer than any frame
            parts.append(bytes(rng.randrange(1, 256) for _ in range(rng.randrange(60, 300))))
        else:  # lone delimiters
            parts.append(b"\x00" * rng.randrange(1, 4))
    return b"".join(parts) + b"\x00" + cmd(Cmd.INFO, 201)


def test_receiver_matches_python_decoder_on_hostile_streams(board):
    rng = random.Random(4)
    for _ in range(3):
        stream = _hostile_stream(rng)
        expected = _expected_events(stream)
        assert [e for e in expected if e[0] == "frame" and e[1] != Cmd.INFO] == []
        _, replies = board.run(stream)
        got = []
        for frame in replies:
            if frame.type == Msg.ERROR:
                seq, code, bad = error_of(frame)
                assert (seq, bad) == (0, 0)
                got.append(("error", code))
            else:
                assert frame.type == Msg.INFO
                got.append(("frame", int(Cmd.INFO), frame.seq))
        assert got == expected
        assert {e[1] for e in expected if e[0] == "error"} == {1, 2, 3}


def test_a_10kb_line_costs_one_too_long_and_the_board_answers(board):
    _, replies = board.run(b"\x55" * 10_000 + b"\x00" + cmd(Cmd.INFO, 9))
    assert error_of(replies[0]) == (0, ErrorCode.TOO_LONG, 0)
    assert [(f.type, f.seq) for f in replies[1:]] == [(Msg.INFO, 9)]


def test_largest_frame_is_accepted_and_one_byte_more_is_too_long(board):
    biggest = cmd(0x7F, 3, bytes(range(1, 61)))  # 66 bytes on the wire, unknown type
    assert len(biggest) == 66
    _, replies = board.run(biggest + b"\x01" * 66 + b"\x00")
    assert [error_of(f) for f in replies] == [(3, ErrorCode.UNKNOWN, 0x7F), (0, 3, 0)]


@pytest.mark.parametrize("msg_type", [0x00, 0x0C, 0x42, 0x80, 0x81, 0xE0, 0xFF])
def test_unknown_commands_get_unknown(board, msg_type):
    _, replies = board.run(cmd(msg_type, 11, b"\x01\x02"))
    assert [error_of(f) for f in replies] == [(11, ErrorCode.UNKNOWN, msg_type)]


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        (Cmd.INFO, b"\x00"), (Cmd.STREAM, b"\x01"), (Cmd.STREAM, b"\x01\x00\x00\x00"),
        (Cmd.INFER, bytes(6)), (Cmd.INFER, bytes(10)), (Cmd.INFER_RAW, bytes(7)),
        (Cmd.TRACE, b""), (Cmd.CALIBRATE, b""), (Cmd.CALIBRATE, b"\x00\x00"),
        (Cmd.CALIBRATE, bytes([3]) + bytes(15)), (Cmd.AVERAGE, b""), (Cmd.AVERAGE, b"\x01\x01"),
        (Cmd.RESET, b"\x00"), (Cmd.SAMPLE, b"\x01"),
    ],
)
def test_wrong_payload_lengths_get_bad_length(board, command, payload):
    _, replies = board.run(cmd(command, 5, payload))
    assert [error_of(f) for f in replies] == [(5, ErrorCode.BAD_LENGTH, command)]


def test_arguments_out_of_range_get_bad_arg(board):
    limit = (1 << board.qm.format_bits) - 1  # formats are symmetric: [-limit, limit]
    bad = [
        cmd(Cmd.AVERAGE, 1, b"\x00"), cmd(Cmd.AVERAGE, 2, b"\x41"),
        cmd(Cmd.INFER_RAW, 3, pack_vector((0, 0, 1024, 0), unsigned=True)),
        cmd(Cmd.CALIBRATE, 4, b"\x04"),
        cmd(Cmd.CALIBRATE, 5, struct.pack("<B8H", 3, 0, 0, 0, 0, 15, 100, 100, 100)),
        cmd(Cmd.CALIBRATE, 6, struct.pack("<B8H", 3, 0, 0, 0, 0, 1024, 1023, 1023, 1023)),
        cmd(Cmd.CALIBRATE, 7, struct.pack("<B8H", 3, 0, 0, 0, 0, 110, 1000, 1000, 1000)),
        # dark measured now (100 on A0) would leave A0 only 10 counts below bright
        cmd(Cmd.CALIBRATE, 8, b"\x00"),
        cmd(Cmd.INFER, 9, pack_vector((0, -limit - 1, 0, 0))),
        cmd(Cmd.TRACE, 10, pack_vector((0, 0, 0, -limit - 1))),
    ]
    if limit < 0x7FFF:
        bad.append(cmd(Cmd.INFER, 11, pack_vector((limit + 1, 0, 0, 0))))
    _, replies = board.run(b"".join(bad))
    assert [f.seq for f in replies if f.type == Msg.CAL] == [7]
    errors = [error_of(f) for f in replies if f.type == Msg.ERROR]
    assert [code for _, code, _ in errors] == [ErrorCode.BAD_ARG] * (len(bad) - 1)
    assert [seq for seq, _, _ in errors] == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11][: len(errors)]


def test_averaging_is_acknowledged_and_reported(board):
    _, replies = board.run(cmd(Cmd.AVERAGE, 1, b"\x40") + cmd(Cmd.INFO, 2))
    assert (replies[0].type, replies[0].payload) == (Msg.ACK, bytes([Cmd.AVERAGE]))
    assert unpack_info(replies[1].payload).averaging == 64


def test_infer_equals_the_emulator(board):
    qm = board.qm
    rng = np.random.default_rng(1)
    lim = (1 << qm.format_bits) - 1
    xs = rng.integers(-lim, lim + 1, size=(300, 4))
    xs[:8] = [[-lim] * 4, [lim] * 4, [0] * 4, [lim, -lim, lim, -lim]] * 2
    data = b"".join(cmd(Cmd.INFER, i % 256, pack_vector(tuple(map(int, x))))
                    for i, x in enumerate(xs))
    _, replies = board.run(data)
    samples = [unpack_sample(f.payload, 4, 4) for f in replies]
    assert all(f.type == Msg.RESULT for f in replies)
    assert [f.seq for f in replies] == [i % 256 for i in range(len(xs))]
    out = codegen.infer(qm, xs)
    assert np.array_equal([s.out for s in samples], out)
    assert np.array_equal([s.x for s in samples], xs)
    assert [s.cls for s in samples] == list(codegen.classify(out))
    assert all(s.adc == (0, 0, 0, 0) for s in samples)


def test_trace_sends_one_frame_per_layer_then_the_result(board):
    qm = board.qm
    x = codegen.quantize_inputs(qm, np.array([[1.0, -1.0, 1.0, -1.0]]))
    _, replies = board.run(cmd(Cmd.TRACE, 77, pack_vector(tuple(map(int, x[0])))))
    layers = [unpack_trace(f.payload) for f in replies[:-1]]
    expected = codegen.infer_trace(qm, x)
    assert [f.type for f in replies] == [Msg.TRACE] * len(expected) + [Msg.RESULT]
    assert {f.seq for f in replies} == {77}
    assert [t.layer for t in layers] == list(range(len(expected)))
    for got, want in zip(layers, expected, strict=True):
        assert list(got.act) == list(want[0])
    assert unpack_sample(replies[-1].payload, 4, 4).out == tuple(expected[-1][0])


def test_calibration_is_stored_survives_restart_and_resets(board):
    dark, bright = (10, 20, 30, 40), (1000, 990, 980, 970)
    setter = cmd(Cmd.CALIBRATE, 1, struct.pack("<B8H", CalOp.SET, *dark, *bright))
    raw = cmd(Cmd.INFER_RAW, 2, pack_vector(ADC, unsigned=True))
    _, replies = board.run(setter + raw)
    cal = unpack_calibration(replies[0].payload)
    assert (cal.dark, cal.bright, cal.source) == (dark, bright, 2)
    sample = unpack_sample(replies[1].payload, 4, 4)
    want_x = codegen.preprocess(board.qm, np.array([ADC]), np.array(dark), np.array(bright))
    assert sample.adc == ADC and sample.x == tuple(want_x[0])

    boot, _ = board.run(b"", fresh=False)
    stored = unpack_info(boot.payload).calibration
    assert (stored.dark, stored.bright, stored.source) == (dark, bright, 1)

    _, replies = board.run(cmd(Cmd.CALIBRATE, 3, bytes([CalOp.RESET])), fresh=False)
    assert unpack_calibration(replies[0].payload).source == 0
    boot, _ = board.run(b"", fresh=False)
    assert unpack_info(boot.payload).calibration.source == 0


def test_dark_and_bright_are_measured_from_the_sensor(board):
    ops = cmd(Cmd.CALIBRATE, 1, bytes([CalOp.DARK])) + cmd(Cmd.CALIBRATE, 2, bytes([CalOp.BRIGHT]))
    _, replies = board.run(ops, adc=(5, 6, 7, 8))
    dark = unpack_calibration(replies[0].payload)
    assert dark.dark == (5, 6, 7, 8) and dark.bright == (1023,) * 4 and dark.source == 2
    # bright measured at the dark level leaves no span: refused, calibration kept
    assert error_of(replies[1]) == (2, ErrorCode.BAD_ARG, Cmd.CALIBRATE)


def test_a_corrupt_calibration_record_falls_back_to_defaults(board):
    setter = cmd(Cmd.CALIBRATE, 1, struct.pack("<B8H", CalOp.SET, *(5,) * 4, *(900,) * 4))
    board.run(setter)
    record = bytearray(board.eeprom.read_bytes())
    record[3] ^= 0x10
    board.eeprom.write_bytes(bytes(record))
    boot, _ = board.run(b"", fresh=False)
    assert unpack_info(boot.payload).calibration.source == 0


def test_sample_and_stream_report_the_sensor(board):
    sample_cmd = cmd(Cmd.SAMPLE, 40)
    start = cmd(Cmd.STREAM, 41, struct.pack("<H", 1000))  # one sample per ms = per 10 bytes fed
    stop = cmd(Cmd.STREAM, 42, struct.pack("<H", 0))
    _, replies = board.run(sample_cmd + start + b"\x00" * 100 + stop + b"\x00" * 100)
    assert replies[0].type == Msg.SAMPLE and replies[0].seq == 40
    sample = unpack_sample(replies[0].payload, 4, 4)
    want_x = codegen.preprocess(board.qm, np.array([ADC]), np.zeros(4, int), np.full(4, 1023))
    assert sample.adc == ADC and sample.x == tuple(want_x[0])
    assert (replies[1].type, replies[1].seq) == (Msg.ACK, 41)
    streamed = [f for f in replies if f.type == Msg.SAMPLE][1:]
    assert [f.seq for f in streamed] == list(range(len(streamed)))
    assert 9 <= len(streamed) <= 12
    assert all(f.payload == replies[0].payload for f in streamed)
    assert (replies[-1].type, replies[-1].seq) == (Msg.ACK, 42)


def test_reset_acknowledges_then_boots(board):
    _, replies = board.run(cmd(Cmd.AVERAGE, 1, b"\x08") + cmd(Cmd.RESET, 2) + cmd(Cmd.INFO, 3))
    assert [(f.type, f.seq) for f in replies] == [
        (Msg.ACK, 1), (Msg.ACK, 2), (Msg.INFO, 0), (Msg.INFO, 3)
    ]
    assert unpack_info(replies[2].payload).boot
    assert unpack_info(replies[3].payload).averaging == 1


def test_random_commands_with_random_payloads_are_all_answered(board):
    """Every command type with random payloads: each frame gets a reply with its seq, and
    (under the sanitizers) nothing is read or written out of bounds. STREAM is left out so
    that stream samples cannot stand in for missing replies."""
    rng = random.Random(99)
    types = [t for t in range(0x0B) if t != Cmd.STREAM]
    for _ in range(8):
        frames = []
        for seq in range(1, 256):
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(19)))
            frames.append(cmd(rng.choice(types), seq, payload))
        _, replies = board.run(b"".join(frames))
        assert set(range(1, 256)) <= {f.seq for f in replies}
        assert all(f.type in set(Msg) for f in replies)


# ---- text mode (PROTOCOL.md): a person's lines on the same wire ----


def _text_and_frames(wire: bytes) -> tuple[str, list]:
    """The printable text the board wrote, and the frames the host decoder still finds."""
    text = bytes(b for b in wire if 0x20 <= b < 0x7F or b in b"\r\n").decode("ascii")
    return text, FrameDecoder().feed(wire)


def _sample_line(qm, adc=ADC) -> str:
    x = codegen.preprocess(qm, np.array([adc]), np.zeros(4, np.int64), np.full(4, 1023))
    return text_line(qm.classes, codegen.infer(qm, x)[0])


def test_help_and_sample_answer_in_text(board):
    wire = board.run_bytes(b"help\r\nsample\n")
    text, frames = _text_and_frames(wire)
    assert [f.type for f in frames] == [Msg.INFO]  # the boot banner only: no binary errors
    lines = text[text.index("pixelnet"):].split("\r\n")
    version = ".".join(map(str, firmware_version()))
    assert lines[0] == (f"pixelnet uno firmware {version} model {board.qm.model_hash} "
                        f"q{board.qm.format_bits}, outputs in units of "
                        f"2^-{board.qm.layers[-1].out_frac}")
    assert lines[1] == "class " + ", ".join(f"{i} {c}" for i, c in enumerate(board.qm.classes))
    assert lines[2].startswith("commands: help, sample")
    assert lines[3] == _sample_line(board.qm)


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r\n\r\n"])
def test_start_prints_lines_and_a_frame_returns_to_binary(board, line_end):
    # the driver's clock runs 100 us per byte: 3000 idle bytes after `start` are 0.3 s
    idle = b"\x00" * 3000
    wire = board.run_bytes(b"start" + line_end + idle + cmd(Cmd.INFO, 77) + b"help\n")
    text, frames = _text_and_frames(wire)
    assert text.count(_sample_line(board.qm)) in (3, 4)
    # after the frame the board answers in binary, the text ended by a lone 0x00
    assert [(f.type, f.seq) for f in frames[1:]] == [(Msg.INFO, 77)]
    after_text = wire[wire.rindex(b"class:"):].split(b"\r\n", 1)[1]
    assert after_text[:1] == b"\x00" and after_text[1:2] != b"\x00"
    assert text.endswith("commands: help, sample (one line), start (10 lines/s), stop; "
                         "a binary frame ends text mode\r\n")


def test_unknown_lines_are_garbage_until_text_mode(board):
    wire = board.run_bytes(b"hello\n" + b"\x00" + b"sample\nhello\n")
    text, frames = _text_and_frames(wire)
    assert [error_of(f) for f in frames[1:]] == [(0, ErrorCode.BAD_FRAME, 0)]
    assert text.endswith("unknown command; type help\r\n")
    assert "hello" not in text


def test_a_frame_that_holds_a_command_word_stays_a_frame(board):
    """Text is only taken from a segment whose first byte no frame can start with."""
    tricky = cmd(Cmd.INFER, 12, b"\nhelp\n\x01\x01")
    assert b"\nhelp\n" in tricky
    _, replies = board.run(tricky)
    # q7 refuses 0x680A (> 127) with BAD_ARG; q15 computes it
    expected = Msg.RESULT if board.qm.fmt == "q15" else Msg.ERROR
    assert [(f.type, f.seq) for f in replies] == [(expected, 12)]
