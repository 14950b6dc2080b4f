"""The live terminal view of ``pixelnet monitor``: one screen per refresh, drawn in place.

``render`` is pure (a sample and the running numbers in, text out), so the
picture is tested without a terminal; the command only moves the cursor home
and prints it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .client import LinkStats
from .compare import Checked
from .metrics import Metrics

SHADES = "·░▒▓█"  # black (dotted, so it shows on a dark terminal too) .. white
BLOCK_WIDTH = 6  # characters per pixel (two rows per pixel keep it square-ish)
PIXEL_HEIGHT = 2
BAR_WIDTH = 30
HOME_AND_CLEAR = "\x1b[H\x1b[J"


def shade(value: float) -> str:
    """The block character for an intensity in [-1, 1] (black -1 .. white +1)."""
    level = round((min(1.0, max(-1.0, value)) + 1) / 2 * (len(SHADES) - 1))
    return SHADES[level]


def framed_image(x: Sequence[float]) -> list[str]:
    """The 2x2 image (TL TR / BL BR) in a frame, one cell per pixel, so that the four pixels
    read as a square even when some are black."""
    rule = "─" * BLOCK_WIDTH
    lines = [f"┌{rule}┬{rule}┐"]
    for top in (0, 2):
        cells = [shade(v) * BLOCK_WIDTH for v in x[top : top + 2]]
        lines += [f"│{cells[0]}│{cells[1]}│"] * PIXEL_HEIGHT
        lines.append(f"├{rule}┼{rule}┤" if top == 0 else f"└{rule}┴{rule}┘")
    return lines


def bar(value: float, scale: float, width: int = BAR_WIDTH) -> str:
    """A signed horizontal bar: left of the axis for negative values."""
    filled = round(min(1.0, abs(value) / scale) * width) if scale > 0 else 0
    left = ("█" * filled).rjust(width) if value < 0 else " " * width
    right = ("█" * filled).ljust(width) if value >= 0 else " " * width
    return f"{left}|{right}"


def render(
    checked: Checked,
    row: int,
    classes: Sequence[str],
    input_scale: float,
    output_scale: float,
    metrics: Metrics,
    link: LinkStats,
    lsb: float,
) -> str:
    """The whole screen for sample ``row`` of ``checked``."""
    b = checked.board
    x = b.x[row] * input_scale
    info = [
        "",
        f"adc  {' '.join(f'{v:4d}' for v in b.adc[row])}",
        f"x    {' '.join(f'{v:+.2f}' for v in x)}",
    ]
    picture = framed_image(x)
    info += [""] * (len(picture) - len(info))
    lines = [
        "pixelnet monitor  (Ctrl-C to stop)",
        "",
        *(f"  {pixels}    {text}".rstrip() for pixels, text in zip(picture, info, strict=True)),
        "",
    ]
    outs = checked.board_real[row]
    scale = max(output_scale, float(abs(outs).max()) or 1.0)
    for j, name in enumerate(classes):
        mark = "<" if j == b.cls[row] else " "
        lines.append(f"  {name:<11}{outs[j]:+8.3f} {bar(outs[j], scale)} {mark}")
    board_cls, ref_cls = classes[b.cls[row]], classes[checked.float_cls[row]]
    agree = "agree" if board_cls == ref_cls else "DISAGREE"
    exact = "bit-exact" if checked.stage[row] == 0 else "MISMATCH with the emulator"
    summary = metrics.overall.summary(lsb)
    lines += [
        "",
        f"  board: {board_cls:<11} float model: {ref_cls:<11} ({agree}; {exact})",
        f"  samples {metrics.samples:,}   mismatches {metrics.mismatches}   "
        f"max|e| {summary['max_abs'] or 0:.4f} ({summary['max_abs_lsb'] or 0:.1f} LSB)   "
        f"RMSE {summary['rmse'] or 0:.4f}",
        f"  link: CRC errors {link.bad_crc}  bad frames {link.bad_frame}  "
        f"resyncs {link.resyncs}  gaps {link.seq_gaps}  resets {link.resets}",
    ]
    return "\n".join(lines)
