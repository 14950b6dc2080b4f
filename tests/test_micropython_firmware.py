"""The MicroPython firmware's modules, run on the MicroPython unix port against the host's code.

Frames, CRC and calibration file are checked against the host's independent
codec (pixelnet.host.frames); the board table and the averaging by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

from pixelnet.firmware.virtual_micropython import (
    FIRMWARE_SOURCE,
    find_micropython,
)
from pixelnet.host.frames import MAX_PAYLOAD, FrameDecoder, crc16, encode_frame
from pixelnet.host.messages import Cmd, ErrorCode, Msg, unpack_error, unpack_info

RUN_TIMEOUT = 60


def run_micropython(script: str, tmp_path: Path, stdin: str = "") -> str:
    """Run ``script`` on the unix port with the firmware modules importable; its stdout."""
    path = tmp_path / "check.py"
    path.write_text(script)
    env = {**os.environ, "MICROPYPATH": f"{FIRMWARE_SOURCE}:.frozen"}
    done = subprocess.run(
        [find_micropython(), str(path)], input=stdin, capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


_FRAME_SCRIPT = """
import sys, json, pxframe

class Capture:
    def __init__(self):
        self.data = b""
    def write(self, data):
        self.data += bytes(data)

for line in sys.stdin:
    wire = bytes.fromhex(line.strip())
    reader = pxframe.FrameReader()
    results = [r for r in (reader.push(b) for b in wire) if r]
    port = Capture()
    writer = pxframe.FrameWriter(port)
    body = b""
    if len(results) == 1 and results[0] > 0:
        n = results[0]
        body = bytes(reader.body[:n])
        writer.body[2:n - 2] = reader.body[2:n - 2]
        writer.send(reader.body[0], reader.body[1], n - 4)
    print(json.dumps([results, body.hex(), port.data.hex()]))
"""


def random_frames(rng: np.random.Generator, n: int) -> list[tuple[int, int, bytes]]:
    frames = []
    for i in range(n):
        size = MAX_PAYLOAD if i % 10 == 0 else int(rng.integers(0, MAX_PAYLOAD + 1))
        zeros = rng.random()  # from no zero bytes to nearly all zeros
        payload = np.where(rng.random(size) < zeros, 0, rng.integers(1, 256, size))
        frames.append((int(rng.integers(0, 256)), int(rng.integers(0, 256)),
                       bytes(payload.astype(np.uint8))))
    return frames


def test_frames_decode_and_encode_like_the_host_codec(tmp_path):
    frames = random_frames(np.random.default_rng(1), 400)
    wires = [encode_frame(*frame) for frame in frames]
    lines = run_micropython(_FRAME_SCRIPT, tmp_path, "".join(w.hex() + "\n" for w in wires))
    for (msg_type, seq, payload), wire, line in zip(frames, wires, lines.splitlines(),
                                                    strict=True):
        results, body, reencoded = json.loads(line)
        head = bytes((msg_type, seq)) + payload
        crc = crc16(head)
        assert results == [len(head) + 2]
        assert bytes.fromhex(body) == head + bytes((crc & 0xFF, crc >> 8))
        assert bytes.fromhex(reencoded) == wire


def test_broken_frames_get_the_verdicts_the_host_decoder_gives(tmp_path):
    rng = np.random.default_rng(2)
    cases = []
    for i in range(300):
        wire = bytearray(encode_frame(*random_frames(rng, 1)[0]))
        kind = i % 4
        if kind == 0:  # one flipped bit
            at = int(rng.integers(0, len(wire) - 1))
            wire[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # truncated
            wire = wire[: int(rng.integers(0, len(wire) - 1))] + b"\x00"
        elif kind == 2:  # too long
            wire = bytearray(rng.integers(1, 256, int(rng.integers(66, 300)), dtype=np.uint8))
            wire += b"\x00"
        else:  # random bytes ending in a delimiter
            wire = bytearray(rng.integers(0, 256, int(rng.integers(1, 80)), dtype=np.uint8))
            wire += b"\x00"
        cases.append(bytes(wire))
    lines = run_micropython(_FRAME_SCRIPT, tmp_path, "".join(w.hex() + "\n" for w in cases))
    for wire, line in zip(cases, lines.splitlines(), strict=True):
        results, _, _ = json.loads(line)
        host = FrameDecoder()
        good = host.feed(wire)
        s = host.stats
        expected = [-ErrorCode.TOO_LONG] * s.too_long + [-ErrorCode.BAD_FRAME] * s.bad_frame
        expected += [-ErrorCode.BAD_CRC] * s.bad_crc
        assert sorted(r for r in results if r < 0) == sorted(expected), wire.hex()
        assert len([r for r in results if r > 0]) == len(good), wire.hex()


def test_crc_has_the_protocols_check_value(tmp_path):
    out = run_micropython("import pxframe\nprint(pxframe.crc16(b'123456789', 9))", tmp_path)
    assert int(out) == 0x29B1 == crc16(b"123456789")


def test_calibration_file_round_trips_and_rejects_damage(tmp_path):
    script = """
import pxcal
print(pxcal.load())
pxcal.save([1, 2, 3, 4], [500, 600, 700, 1023])
print(pxcal.load())
pxcal.save([5, 5, 5, 5], [900, 900, 900, 900])
good = open(pxcal.FILE, "rb").read()
print(pxcal.load())
for bad in (good[:-1], good + b"x", b"PXC\\x02" + good[4:], good[:8] + b"\\x00" + good[9:]):
    open(pxcal.FILE, "wb").write(bad)
    print(pxcal.load())
pxcal.save([7, 7, 7, 7], [800, 800, 800, 800])
import os
os.rename(pxcal.FILE, pxcal.FILE + ".tmp")  # a FAT save cut off after the erase
print(pxcal.load())
pxcal.erase()
pxcal.erase(pxcal.FILE + ".tmp")
print(pxcal.load())
print(pxcal.is_valid([0] * 4, [16] * 4), pxcal.is_valid([0] * 4, [15, 16, 16, 16]),
      pxcal.is_valid([0] * 4, [1024] * 4), pxcal.is_valid([-1] * 4, [100] * 4))
"""
    lines = run_micropython(script, tmp_path).splitlines()
    assert lines == [
        "None",
        "([1, 2, 3, 4], [500, 600, 700, 1023])",
        "([5, 5, 5, 5], [900, 900, 900, 900])",
        "None", "None", "None", "None",
        "([7, 7, 7, 7], [800, 800, 800, 800])",
        "None",
        "True False False False",
    ]


def test_board_table_has_four_pins_or_says_which_pixel_is_missing(tmp_path):
    script = """
import pxboard
for platform, machine in (("esp32", "Generic ESP32 module with ESP32"),
                          ("esp32", "ESP32S3 module with ESP32S3"),
                          ("rp2", "Raspberry Pi Pico W with RP2040"),
                          ("rp2", "Seeed XIAO RP2040 with RP2040"),
                          ("linux", "linux [GCC 14.2.1] version")):
    print(pxboard.lookup(platform, machine))
try:
    pxboard.lookup("nrf", "micro:bit")
except OSError as exc:
    print(exc)
"""
    assert run_micropython(script, tmp_path).splitlines() == [
        "('esp32', (36, 39, 34, 35))",
        "('esp32s3', (1, 2, 3, 4))",
        "('rp2-pico', (26, 27, 28, None))",
        "('rp2', (26, 27, 28, 29))",
        "('virtual-micropython', (0, 1, 2, 3))",
        "pixelnet: no ADC pins for nrf (micro:bit): add it to pxboard._TABLE",
    ]


def test_sensor_reports_the_rounded_mean_of_10_bit_counts(tmp_path):
    script = """
import pxboard

class FakeADC:
    def __init__(self, values):
        self.values = list(values)
    def read_u16(self):
        return self.values.pop(0)

readings = ([0, 64, 64, 64], [65535] * 4, [100 << 6, 101 << 6, 101 << 6, 101 << 6 | 63],
            [3 << 6, 4 << 6, 0, 0])
sensor = pxboard.Sensor([FakeADC(r) for r in readings], averaging=4)
counts = [0] * 4
sensor.read(counts)
three = pxboard.Sensor([FakeADC([]), None, FakeADC([]), FakeADC([])])
print(counts, sensor.complete, three.complete)
"""
    # (0+1+1+1)/4 = 0.75 -> 1; 1023; (100+101+101+101)/4 = 100.75 -> 101; 7/4 = 1.75 -> 2
    assert run_micropython(script, tmp_path).strip() == "[1, 1023, 101, 2] True False"


_THREE_PIXEL_SCRIPT = """
import sys, pxapp, pxboard

class Capture:
    def __init__(self):
        self.data = b""
    def write(self, data):
        self.data += bytes(data)

class Model:
    N_INPUTS = 4
    N_OUTPUTS = 4
    N_LAYERS = 1
    FORMAT = 7
    FORMAT_ID = 7
    LAYER_SIZES = (4,)
    MODEL_HASH = bytes(range(8))
    CLASSES = ("a", "b", "c", "d")
    OUTPUT_FRAC = 7
    @staticmethod
    def calib_init(dark, bright):
        return None
    @staticmethod
    def preprocess(cal, adc, x):
        raise AssertionError("no sensor to preprocess")
    @staticmethod
    def infer(x, out):
        for i in range(4):
            out[i] = -x[i]
        return 0

port = Capture()
app = pxapp.App(port, pxboard.Sensor([object(), object(), object(), None]), Model, "rp2-pico")
for byte in bytes.fromhex(sys.stdin.read().strip()):
    app.receive(byte)
print(port.data.hex())
"""


def test_a_board_without_a_fourth_pixel_refuses_only_sensor_commands(tmp_path):
    commands = [
        encode_frame(Cmd.SAMPLE, 1),
        encode_frame(Cmd.STREAM, 2, (10).to_bytes(2, "little")),
        encode_frame(Cmd.CALIBRATE, 3, b"\x00"),
        encode_frame(Cmd.INFER, 4, bytes.fromhex("0100feff00000500")),  # x = 1, -2, 0, 5
        encode_frame(Cmd.INFO, 5),
        encode_frame(Cmd.STREAM, 6, bytes(2)),
    ]
    out = run_micropython(_THREE_PIXEL_SCRIPT, tmp_path, b"".join(commands).hex())
    frames = FrameDecoder().feed(bytes.fromhex(out.strip()))
    assert [(f.type, f.seq) for f in frames] == [
        (Msg.ERROR, 1), (Msg.ERROR, 2), (Msg.ERROR, 3), (Msg.RESULT, 4), (Msg.INFO, 5),
        (Msg.ACK, 6),
    ]
    assert [unpack_error(f.payload).code for f in frames[:3]] == [ErrorCode.BAD_ARG] * 3
    assert frames[3].payload[8:16] == bytes.fromhex("0100feff00000500")
    assert frames[3].payload[16:24] == bytes.fromhex("ffff02000000fbff")  # out = -x
    info = unpack_info(frames[4].payload)
    assert (info.board, info.model_hash, info.n_layers) == ("rp2-pico", "0001020304050607", 1)


def test_text_mode_on_a_board_without_a_fourth_pixel_says_so(tmp_path):
    typed = b"sample\r\nstart\r\n" + encode_frame(Cmd.INFO, 8)
    out = bytes.fromhex(run_micropython(_THREE_PIXEL_SCRIPT, tmp_path, typed.hex()).strip())
    text, _, binary = out.partition(b"\x00")  # leaving text mode writes a lone 0x00
    assert text == b"no sample: this board has no ADC for the fourth pixel\r\n"
    assert [(f.type, f.seq) for f in FrameDecoder().feed(binary)] == [(Msg.INFO, 8)]
