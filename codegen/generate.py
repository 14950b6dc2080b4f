"""The library entry point the command line, the firmware build and the demo call."""

from __future__ import annotations

import os
from pathlib import Path

from pixelnet.trainer.model_file import Model

from .quantize import quantize
from .render import render, write_files


def generate(
    model: Model,
    target: str,
    fmt: str,
    out_dir: str | os.PathLike[str],
    prefix: str = "pixelnet",
    optimize: str = "size",
) -> list[Path]:
    """Quantise ``model`` to ``fmt`` and write the ``target`` source files into ``out_dir``."""
    files = render(quantize(model, fmt), target, prefix=prefix, optimize=optimize)
    return write_files(files, out_dir)
