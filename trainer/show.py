"""Look at a network: a text summary and a picture in the lesson's visual language.

The picture: a grey background; every neuron drawn as its receptive field, a
2x2 image (white +1, grey 0, black -1; see ``receptive.py``); links white for
positive weights and black for negative ones, thickness proportional to
|weight| relative to the largest weight in the network. Links under
``MIN_LINK_FRACTION`` of that are left out, as the lesson leaves out zero
weights, so a sparse network looks sparse. A title names the model (hash, shape,
accuracy) and a legend says what white, black, thickness and tiles mean. A
dense network (most links drawn) reads best retrained with an L1 penalty,
``pixelnet train --l1 0.001``; the legend then says so.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pixelnet.files import write_atomically

from .model_file import Layer, Model
from .patterns import CLASSES, clean_patterns
from .receptive import input_fields, receptive_fields

SMALL_WEIGHT = 0.05  # "close to zero" in the sparsity count
MIN_LINK_FRACTION = 0.02
BACKGROUND = (128, 128, 128)
OUTLINE = (40, 40, 40)
LABEL = (20, 20, 20)
TILE = 44  # side of a neuron's 2x2 image, pixels
ROW = 64  # vertical distance between neurons
COLUMN = 190  # horizontal distance between layers
MARGIN = 40
MAX_LINK_WIDTH = 9
TITLE_HEIGHT = 34  # band above the network for the title
LEGEND_HEIGHT = 96  # band below the layer names for the legend
DENSE_FRACTION = 0.6  # more links drawn than this: suggest an L1 penalty
LEGEND_TILE = (1.0, -1.0, 1.0, -1.0)  # an example tile: a vertical edge


def summary(model: Model) -> str:
    """Layers, parameters, sparsity, accuracy on the clean patterns, training facts."""
    lines = [
        f"model {model.short_hash}  (sha256 {model.hash})",
        f"classes: {', '.join(model.classes)}",
        f"{'layer':<6}{'units':<10}{'activation':<12}{'bias':<6}{'params':>7}{'zero':>6}"
        f"{f'|w|<{SMALL_WEIGHT}':>10}",
    ]
    for i, layer in enumerate(model.layers, start=1):
        lines.append(
            f"{i:<6}{f'{layer.n_in} -> {layer.n_out}':<10}{layer.activation:<12}"
            f"{'yes' if layer.biases is not None else 'no':<6}{_n_params(layer):>7}"
            f"{int(np.sum(layer.weights == 0)):>6}"
            f"{int(np.sum(np.abs(layer.weights) < SMALL_WEIGHT)):>10}"
        )
    weights = np.concatenate([layer.weights.ravel() for layer in model.layers])
    zero, small = weights == 0, np.abs(weights) < SMALL_WEIGHT
    lines.append(
        f"parameters: {sum(_n_params(layer) for layer in model.layers)}; weights exactly zero: "
        f"{int(zero.sum())} of {weights.size} ({zero.mean():.0%}); "
        f"close to zero: {int(small.sum())} ({small.mean():.0%})"
    )
    lines.append(_clean_accuracy_line(model))
    lines.extend(_training_lines(model.training))
    return "\n".join(lines)


def _n_params(layer: Layer) -> int:
    return layer.weights.size + (0 if layer.biases is None else layer.biases.size)


def _clean_accuracy_line(model: Model) -> str:
    if model.classes != CLASSES:
        return "accuracy on the clean patterns: n/a (classes are not the standard four)"
    x, y = clean_patterns()
    correct = int(np.sum(model.predict(x) == y))
    return f"accuracy on the {len(y)} clean patterns: {correct}/{len(y)} ({correct / len(y):.0%})"


def _training_lines(training: dict) -> list[str]:
    lines = []
    if "trainer" in training or "source" in training:
        lines.append(f"trained by: {training.get('trainer') or training.get('source')}")
    if "seed" in training:
        lines.append(f"seed: {training['seed']}, epochs: {training.get('epochs_run', '?')}")
    loss = training.get("loss")
    if isinstance(loss, dict) and "final" in loss:
        lines.append(f"loss: first {loss.get('first', float('nan')):.4g}, "
                     f"final {loss['final']:.4g}")
    evaluation = training.get("evaluation")
    if isinstance(evaluation, dict) and "noisy_accuracy" in evaluation:
        lines.append(
            f"noisy held-out accuracy (at training time): {evaluation['noisy_accuracy']:.2%} "
            f"of {evaluation.get('noisy_samples', '?')}"
        )
    return lines


def draw_network(model: Model) -> Image.Image:
    """The network as the lesson draws it (see the module docstring)."""
    fields = [input_fields(), *receptive_fields(model)]
    sizes = model.sizes
    tallest = max(sizes)
    width = 2 * MARGIN + COLUMN * (len(sizes) - 1) + TILE + 90  # room for class names
    network_bottom = TITLE_HEIGHT + 2 * MARGIN + ROW * (tallest - 1) + TILE + 24
    height = network_bottom + LEGEND_HEIGHT
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)

    def corner(layer: int, unit: int) -> tuple[int, int]:
        return tile_position(sizes, layer, unit)

    largest = max(float(np.abs(layer.weights).max()) for layer in model.layers) or 1.0
    links = []
    for i, layer in enumerate(model.layers):
        for (src, dst), w in np.ndenumerate(layer.weights):
            if abs(w) >= MIN_LINK_FRACTION * largest:
                links.append((abs(w), i, src, dst, w))
    draw.text((MARGIN, 12), title(model, len(links)), fill=LABEL, font=font)
    n_weights = sum(layer.weights.size for layer in model.layers)
    _draw_legend(draw, font, network_bottom, dense=len(links) > DENSE_FRACTION * n_weights)
    for magnitude, i, src, dst, w in sorted(links):  # thick links drawn last, on top
        x0, y0 = corner(i, src)
        x1, y1 = corner(i + 1, dst)
        draw.line(
            [(x0 + TILE, y0 + TILE // 2), (x1, y1 + TILE // 2)],
            fill=(255, 255, 255) if w > 0 else (0, 0, 0),
            width=max(1, round(MAX_LINK_WIDTH * magnitude / largest)),
        )
    for layer_index, layer_fields in enumerate(fields):
        for unit, field in enumerate(layer_fields):
            _draw_field(draw, corner(layer_index, unit), field)
    labels = ["input", *(layer.activation for layer in model.layers)]
    for layer_index, text in enumerate(labels):
        x, _ = corner(layer_index, 0)
        draw.text((x, network_bottom - MARGIN + 4), text, fill=LABEL, font=font)
    for unit, name in enumerate(model.classes):
        x, y = corner(len(sizes) - 1, unit)
        draw.text((x + TILE + 8, y + TILE // 2 - 5), name, fill=LABEL, font=font)
    return image


def title(model: Model, n_links: int) -> str:
    """The picture's title: which model, its shape, how good it is, how many links are drawn."""
    parts = [f"model {model.short_hash}", "-".join(map(str, model.sizes))]
    if model.classes == CLASSES:
        x, y = clean_patterns()
        parts.append(f"clean patterns {np.mean(model.predict(x) == y):.0%}")
    evaluation = model.training.get("evaluation")
    if isinstance(evaluation, dict) and "noisy_accuracy" in evaluation:
        parts.append(f"noisy held-out {evaluation['noisy_accuracy']:.2%}")
    total = sum(layer.weights.size for layer in model.layers)
    parts.append(f"{n_links} of {total} links drawn")
    return "   ·   ".join(parts)


def _draw_legend(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
                 top: int, dense: bool) -> None:
    """What the colours, widths and tiles mean, in the picture's own marks."""
    x, y = MARGIN, top + 6
    for colour, text in (((255, 255, 255), "positive weight"), ((0, 0, 0), "negative weight")):
        draw.line([(x, y + 7), (x + 40, y + 7)], fill=colour, width=5)
        draw.text((x + 50, y), text, fill=LABEL, font=font)
        x += 200
    for step, width in enumerate((1, 4, MAX_LINK_WIDTH)):
        draw.line([(x + 14 * step, y), (x + 14 * step, y + 16)], fill=(255, 255, 255),
                  width=width)
    draw.text((x + 50, y), "thickness = |weight| (links under 2% of the largest left out)",
              fill=LABEL, font=font)
    y += 30
    half_tile = TILE // 2
    _draw_field(draw, (MARGIN, y), np.asarray(LEGEND_TILE), size=half_tile)
    draw.text((MARGIN + half_tile + 12, y + 2),
              "tile = the 2x2 image the neuron responds to most (white +1, grey 0, black -1)",
              fill=LABEL, font=font)
    if dense:
        draw.text((MARGIN, y + half_tile + 8),
                  "dense: retrain with an L1 penalty (pixelnet train --l1 0.001) "
                  "for fewer, clearer links", fill=LABEL, font=font)


def tile_position(sizes: tuple[int, ...], layer: int, unit: int) -> tuple[int, int]:
    """Top-left corner of a neuron's tile; layer 0 is the input, columns centred vertically."""
    top = TITLE_HEIGHT + MARGIN + (max(sizes) - sizes[layer]) * ROW // 2 + unit * ROW
    return MARGIN + layer * COLUMN, top


def _draw_field(draw: ImageDraw.ImageDraw, at: tuple[int, int], field: np.ndarray,
                size: int = TILE) -> None:
    """A 2x2 image: TL, TR on top, BL, BR below; -1 black, 0 grey, +1 white."""
    half = size // 2
    for index, value in enumerate(field):
        shade = round(127.5 * (float(value) + 1.0))
        x = at[0] + (index % 2) * half
        y = at[1] + (index // 2) * half
        draw.rectangle([x, y, x + half - 1, y + half - 1], fill=(shade, shade, shade))
    draw.rectangle([at[0] - 1, at[1] - 1, at[0] + size, at[1] + size], outline=OUTLINE, width=2)


def save_png(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write the PNG atomically: a failed write never leaves half a picture."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return write_atomically(path, buffer.getvalue(), what="PNG")
