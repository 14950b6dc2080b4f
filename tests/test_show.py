"""`pixelnet show`: the text summary and the picture in the lesson's visual language."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model
from pixelnet.trainer.receptive import input_fields, receptive_fields
from pixelnet.trainer.show import BACKGROUND, TILE, draw_network, save_png, summary, tile_position


def test_summary_counts_parameters_sparsity_and_clean_accuracy() -> None:
    model = lesson_model()
    text = summary(model)
    assert model.hash in text
    assert "parameters: 96; weights exactly zero: 64 of 96 (67%)" in text
    assert "accuracy on the 8 clean patterns: 8/8 (100%)" in text
    assert "hand-wired network from the lesson" in text
    rows = [line.split() for line in text.splitlines() if line[:1].isdigit()]
    assert [row[1:5] for row in rows] == [
        ["4", "->", "4", "tanh"], ["4", "->", "4", "tanh"],
        ["4", "->", "8", "relu"], ["8", "->", "4", "identity"],
    ]


def test_summary_of_a_model_with_other_classes_does_not_guess_accuracy() -> None:
    model = lesson_model()
    renamed = Model(model.layers, ("a", "b", "c", "d"))
    assert "n/a (classes are not the standard four)" in summary(renamed)


def shade_at(image: Image.Image, layer: int, unit: int, pixel: int, sizes) -> int:
    x, y = tile_position(sizes, layer, unit)
    quarter = TILE // 4
    cx = x + quarter + (pixel % 2) * 2 * quarter
    cy = y + quarter + (pixel // 2) * 2 * quarter
    r, g, b = image.getpixel((cx, cy))
    assert r == g == b
    return r


def test_every_neuron_is_drawn_as_its_receptive_field() -> None:
    model = lesson_model()
    image = draw_network(model)
    assert image.getpixel((2, 2)) == BACKGROUND
    for layer, fields in enumerate([input_fields(), *receptive_fields(model)]):
        for unit, field in enumerate(fields):
            drawn = [shade_at(image, layer, unit, p, model.sizes) for p in range(4)]
            assert drawn == [round(127.5 * (v + 1)) for v in field]


def test_links_are_white_for_positive_and_black_for_negative_weights() -> None:
    model = lesson_model()
    image = draw_network(model)

    def along_link(src: int, dst: int) -> tuple[int, int, int]:
        (x0, y0), (x1, y1) = tile_position(model.sizes, 0, src), tile_position(model.sizes, 1, dst)
        start, end = np.array([x0 + TILE, y0 + TILE / 2]), np.array([x1, y1 + TILE / 2])
        x, y = start + 0.25 * (end - start)  # a quarter along: no other link crosses here
        return image.getpixel((round(x), round(y)))

    assert model.layers[0].weights[0, 0] == 1 and along_link(0, 0) == (255, 255, 255)
    assert model.layers[0].weights[2, 2] == -1 and along_link(2, 2) == (0, 0, 0)


def test_zero_weights_are_not_drawn() -> None:
    model = lesson_model()
    image = draw_network(model)
    assert model.layers[0].weights[1, 0] == 0
    (x0, y0), (x1, y1) = tile_position(model.sizes, 0, 1), tile_position(model.sizes, 1, 0)
    x = x0 + TILE + (x1 - x0 - TILE) // 8  # an eighth along the missing link 1 -> 0
    y = round(y0 + TILE / 2 + (y1 - y0) / 8)
    assert image.getpixel((x, y)) == BACKGROUND


def test_png_is_written_atomically(tmp_path: Path) -> None:
    path = save_png(draw_network(lesson_model()), tmp_path / "net.png")
    assert [p.name for p in tmp_path.iterdir()] == ["net.png"]
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400


def test_the_title_names_the_model_its_shape_accuracy_and_links() -> None:
    from pixelnet.trainer.show import title

    model = lesson_model()
    assert title(model, 32) == (f"model {model.short_hash}   ·   4-4-4-8-4   ·   "
                                "clean patterns 100%   ·   32 of 96 links drawn")


def test_the_legend_shows_a_white_and_a_black_link_below_the_network() -> None:
    from pixelnet.trainer.show import LEGEND_HEIGHT, MARGIN

    image = draw_network(lesson_model())
    middle_of_first_row = image.height - LEGEND_HEIGHT + 6 + 7
    assert image.getpixel((MARGIN + 20, middle_of_first_row)) == (255, 255, 255)
    assert image.getpixel((MARGIN + 220, middle_of_first_row)) == (0, 0, 0)
    lowest_tile = max(tile_position(lesson_model().sizes, layer, unit)[1]
                      for layer, n in enumerate(lesson_model().sizes) for unit in range(n))
    assert lowest_tile + TILE < image.height - LEGEND_HEIGHT  # the legend covers nothing
