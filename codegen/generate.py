"""The library entry point the command line, the firmware build and the demo call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pixelnet.trainer.model_file import Model

from .quantize import quantize
from .render import GenerateError, render, write_files


def as_model(model: Model | Any) -> Model:
    """A pixelnet Model, or a fitted scikit-learn MLPClassifier converted to one."""
    if isinstance(model, Model):
        return model
    from pixelnet.trainer.sklearn_import import model_from_sklearn

    return model_from_sklearn(model)


def generate(
    model: Model | Any,
    target: str,
    fmt: str,
    out_dir: str | os.PathLike[str],
    prefix: str = "pixelnet",
    optimize: str = "size",
) -> list[Path]:
    """Quantise ``model`` (a Model or a fitted MLPClassifier) to ``fmt`` and write the
    ``target`` source files into ``out_dir``."""
    files = render(quantize(as_model(model), fmt), target, prefix=prefix, optimize=optimize)
    return write_generated(files, target, out_dir, prefix)


def write_generated(files: dict[str, str], target: str, out_dir: str | os.PathLike[str],
                    prefix: str) -> list[Path]:
    """Write rendered files; an Arduino library also gets its .zip beside the folder."""
    paths = write_files(files, out_dir)
    if target == "arduino-library":
        from .arduino_library import write_zip

        paths.append(write_zip(out_dir, paths, prefix, GenerateError))
    return paths
