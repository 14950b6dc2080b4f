"""Reading text lines a board prints on a serial port, for the tests that type to it."""

from __future__ import annotations

import time

import numpy as np

from pixelnet import codegen
from pixelnet.trainer.patterns import SCENES

# The virtual boards' defaults (firmware/sim/SCENE.md): light 0.9, gain 1, offset 0.05.
LIGHT, GAIN, OFFSET = 0.9, 1.0, 0.05


def read_lines(port, count: int, timeout: float) -> list[str]:
    """The next ``count`` non-empty text lines, bytes outside printable ASCII (a binary
    frame such as the boot banner) left out; an AssertionError after ``timeout`` s."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        assert time.monotonic() < deadline, f"the board went quiet after {lines}"
        raw = port.readline()
        if raw.endswith(b"\n"):
            text = bytes(b for b in raw if 0x20 <= b < 0x7F).decode()
            if text:
                lines.append(text)
    return lines


def scene_outputs(qm, scene: str) -> tuple[str, list[int]]:
    """Class and integer outputs the emulator computes for a scene on a virtual board
    without noise, at the default full-scale calibration (dark 0, bright 1023):
    counts floor((offset + gain * light * (s + 1) / 2) * 1023) as SCENE.md defines."""
    pixels = np.array(SCENES[scene], dtype=np.float64)
    adc = np.floor((OFFSET + GAIN * LIGHT * (pixels + 1) / 2) * 1023).astype(np.int64)
    x = codegen.preprocess(qm, adc[None, :], np.zeros(4, np.int64), np.full(4, 1023))
    out = codegen.infer(qm, x)[0]
    return qm.classes[int(np.argmax(out))], [int(v) for v in out]


def text_line(classes, out) -> str:
    """The text mode's sample line: NAME:value per output, then class:INDEX (PROTOCOL.md)."""
    values = " ".join(f"{c}:{int(v)}" for c, v in zip(classes, out, strict=True))
    return f"{values} class:{int(np.argmax(out))}"
