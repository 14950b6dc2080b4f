"""Control lines of the simulated photodiode array, checked before they reach a board.

Both virtual boards take the same text commands (firmware/sim/SCENE.md); this
module turns a Python-side scene change into those lines and parses a line a
user typed, refusing anything out of range here rather than in the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pixelnet.errors import PixelnetError
from pixelnet.trainer.patterns import SCENES


class VirtualBoardError(PixelnetError):
    """A virtual board cannot do what was asked (a bad scene, a dead simulator)."""


def _number(text: str | float, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise VirtualBoardError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise VirtualBoardError(f"{what}: {text!r} is not a finite number")
    return value


def _four(values: Sequence[str | float], what: str, lo: float, hi: float) -> list[float]:
    if isinstance(values, str) or len(values) != 4:
        raise VirtualBoardError(f"{what}: expected 4 numbers, one per pixel (TL TR BL BR)")
    numbers = [_number(v, what) for v in values]
    if not all(lo <= v <= hi for v in numbers):
        raise VirtualBoardError(f"{what}: values must lie in [{lo:g}, {hi:g}]")
    return numbers


def _one(value: str | float, what: str, lo: float, hi: float) -> float:
    number = _number(value, what)
    if not lo <= number <= hi:
        raise VirtualBoardError(f"{what}: {number:g} is outside [{lo:g}, {hi:g}]")
    return number


def _line(name: str, values: Sequence[float]) -> str:
    return " ".join([name, *(repr(float(v)) for v in values)])


def scene_lines(
    scene: str | Sequence[float] | None = None,
    *,
    light: float | None = None,
    gain: Sequence[float] | None = None,
    offset: Sequence[float] | None = None,
    noise: float | None = None,
    seed: int | None = None,
) -> dict[str, str]:
    """Checked control lines for the simulated ADC, keyed by what they set."""
    lines: dict[str, str] = {}
    if scene is not None:
        if isinstance(scene, str):
            if scene not in SCENES:
                raise VirtualBoardError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
            pixels = [float(s) for s in SCENES[scene]]
        else:
            pixels = _four(scene, "pixels", -1.0, 1.0)
        lines["pixels"] = _line("pixels", pixels)
    if light is not None:
        lines["light"] = _line("light", [_one(light, "light", 0.0, 10.0)])
    if gain is not None:
        lines["gain"] = _line("gain", _four(gain, "gain", 0.0, 10.0))
    if offset is not None:
        lines["offset"] = _line("offset", _four(offset, "offset", -1.0, 1.0))
    if noise is not None:
        lines["noise"] = _line("noise", [_one(noise, "noise", 0.0, 1.0)])
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
            raise VirtualBoardError(f"seed: {seed!r} is not an integer in [0, 2**31)")
        lines["seed"] = f"seed {seed}"
    return lines


def parse_control(line: str) -> dict[str, str] | str:
    """One text line of the control channel: scene lines, or "reset" / "quit"."""
    words = line.split()
    if not words:
        raise VirtualBoardError("empty command")
    name, args = words[0], words[1:]
    if name in ("reset", "quit"):
        if args:
            raise VirtualBoardError(f"{name} takes no arguments")
        return name
    if name == "scene" and len(args) == 1:
        return scene_lines(args[0])
    if name == "pixels":
        return scene_lines(args)
    if name in ("gain", "offset"):
        return scene_lines(**{name: args})
    if name in ("light", "noise") and len(args) == 1:
        return scene_lines(**{name: args[0]})
    if name == "seed" and len(args) == 1 and args[0].isdigit():
        return scene_lines(seed=int(args[0]))
    raise VirtualBoardError(
        f"cannot understand {line.strip()!r}; commands: scene NAME, pixels a b c d, light L, "
        "gain g0 g1 g2 g3, offset o0 o1 o2 o3, noise S, seed N, reset, quit"
    )


