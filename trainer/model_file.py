"""The model file: versioned JSON that carries a network from laptop to board.

Never pickle: a model file is data anyone can read, diff and check. Weights are
written with Python's shortest round-tripping float repr, so a save/load cycle
is exact bit for bit. The content hash covers what determines the board's
arithmetic — classes, input encoding, layers (activations, weights, biases) —
and not the training metadata, so retraining notes never change a model's
identity. The board reports the first 16 hex digits (``Model.short_hash``).

Layout (version 1)::

    {
      "format": "pixelnet-model", "version": 1,
      "classes": ["solid", "vertical", "diagonal", "horizontal"],
      "input": {"pixels": ["top_left", ...], "encoding": "white=+1, black=-1, grey=0"},
      "layers": [{"activation": "tanh", "weights": [[...], ...], "biases": [...] | null}, ...],
      "training": {...free-form metadata...},
      "hash": "<sha256 hex>"
    }

``weights`` of a layer is a list of ``n_in`` rows of ``n_out`` numbers, the
scikit-learn ``coefs_`` convention: ``y = activation(x @ W + b)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelnet.errors import ModelFileError, printable
from pixelnet.files import write_atomically

from .activations import ACTIVATIONS, activate
from .patterns import CLASSES, ENCODING, N_PIXELS, PIXELS

FORMAT_NAME = "pixelnet-model"
FORMAT_VERSION = 1
MAX_UNITS = 16  # a TRACE frame carries one layer: 16 int16 values fit its payload
MAX_LAYERS = 8
MAX_CLASS_NAME = 64  # characters: a label on a screen, not a document
MAX_PARAMETER = sys.float_info.max  # any finite float round-trips; an integer may not fit
MAX_FILE_BYTES = 16 * 1024 * 1024  # a model file is a few kB; its training notes a few more
HASH_PATTERN = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class Layer:
    """One dense layer: ``activation(x @ weights + biases)``."""

    weights: np.ndarray  # float64 [n_in, n_out]
    biases: np.ndarray | None  # float64 [n_out] or None (the lesson's form)
    activation: str

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[1])


@dataclass(frozen=True)
class Model:
    """A trained (or hand-wired) network, as stored in a model file."""

    layers: tuple[Layer, ...]
    classes: tuple[str, ...] = CLASSES
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate_layers(self.layers, self.classes)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def sizes(self) -> tuple[int, ...]:
        """Units per layer including the input, e.g. (4, 4, 4, 8, 4)."""
        return (self.n_inputs, *(layer.n_out for layer in self.layers))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Float outputs for inputs ``x`` [n, 4] (or one input [4])."""
        return self.trace(x)[-1]

    def trace(self, x: np.ndarray) -> list[np.ndarray]:
        """The activations of every layer, input excluded, for inputs ``x``."""
        a = np.asarray(x, dtype=np.float64)
        out = []
        for layer in self.layers:
            z = a @ layer.weights
            if layer.biases is not None:
                z = z + layer.biases
            a = activate(layer.activation, z)
            out.append(a)
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices (argmax of the outputs, first on ties)."""
        return np.argmax(self.forward(x), axis=-1)

    def arithmetic_dict(self) -> dict[str, Any]:
        """The part of the file that determines the outputs (and the hash)."""
        return {
            "classes": list(self.classes),
            "input": {"pixels": list(PIXELS), "encoding": ENCODING},
            "layers": [
                {
                    "activation": layer.activation,
                    "weights": layer.weights.tolist(),
                    "biases": None if layer.biases is None else layer.biases.tolist(),
                }
                for layer in self.layers
            ],
        }

    @property
    def hash(self) -> str:
        """sha256 hex of the canonical JSON of ``arithmetic_dict()``."""
        canonical = json.dumps(
            self.arithmetic_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def short_hash(self) -> str:
        """The first 8 bytes of the hash, as the board reports it (16 hex digits)."""
        return self.hash[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            **self.arithmetic_dict(),
            "training": self.training,
            "hash": self.hash,
        }


def _validate_layers(layers: tuple[Layer, ...], classes: tuple[str, ...]) -> None:
    if not layers:
        raise ModelFileError("model has no layers")
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(f"model has {len(layers)} layers; at most {MAX_LAYERS} supported")
    expected_in = N_PIXELS
    for i, layer in enumerate(layers):
        where = f"layer {i}"
        if layer.activation not in ACTIVATIONS:
            raise ModelFileError(
                f"{where}: unknown activation {layer.activation!r} "
                f"(known: {', '.join(ACTIVATIONS)})"
            )
        w = layer.weights
        if w.ndim != 2 or w.shape[0] != expected_in:
            raise ModelFileError(
                f"{where}: weights have shape {w.shape}, expected ({expected_in}, units)"
            )
        if not 1 <= w.shape[1] <= MAX_UNITS:
            raise ModelFileError(f"{where}: {w.shape[1]} units; 1..{MAX_UNITS} supported")
        if not np.all(np.isfinite(w)):
            raise ModelFileError(f"{where}: weights contain NaN or infinity")
        if layer.biases is not None:
            b = layer.biases
            if b.shape != (w.shape[1],):
                raise ModelFileError(
                    f"{where}: biases have shape {b.shape}, expected ({w.shape[1]},)"
                )
            if not np.all(np.isfinite(b)):
                raise ModelFileError(f"{where}: biases contain NaN or infinity")
        expected_in = w.shape[1]
    if len(classes) != expected_in:
        raise ModelFileError(
            f"model has {expected_in} outputs but {len(classes)} class names"
        )
    if len(set(classes)) != len(classes) or not all(isinstance(c, str) and c for c in classes):
        raise ModelFileError("class names must be distinct non-empty strings")
    for i, name in enumerate(classes):
        if printable(name) != name or "\n" in name or "\t" in name:
            raise ModelFileError(
                f"class {i} name '{printable(name)}' contains control characters "
                "(they would drive the terminal it is printed on)"
            )


def _number(v: Any, where: str) -> float:
    """One weight or bias: a JSON number (not a bool) of at most MAX_PARAMETER in size."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ModelFileError(f"{where}: expected a number, found {_kind(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ModelFileError(f"{where}: contains NaN or infinity")
    if abs(v) > MAX_PARAMETER:
        raise ModelFileError(f"{where}: {_short(v)} is out of range (not a finite float)")
    return float(v)


def _number_array(value: Any, where: str, ndim: int) -> np.ndarray:
    """A float64 array from JSON numbers, refusing strings, bools, huge values, ragged lists."""

    def check(v: Any, depth: int) -> Any:
        if depth == ndim:
            return _number(v, where)
        if not isinstance(v, list):
            raise ModelFileError(f"{where}: expected a list, found {_kind(v)}")
        return [check(item, depth + 1) for item in v]

    checked = check(value, 0)
    try:
        arr = np.asarray(checked, dtype=np.float64)
    except ValueError:  # ragged rows
        raise ModelFileError(f"{where}: rows have different lengths") from None
    if arr.size == 0:
        raise ModelFileError(f"{where}: empty (every layer needs at least one unit)")
    if arr.ndim != ndim:
        raise ModelFileError(f"{where}: expected {ndim}-D numbers, found {arr.ndim}-D")
    return arr


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    """A value quoted in a message, cut so a huge one stays one readable line."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
    return text if len(text) <= 40 else text[:37] + "..."


def _require(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in doc:
        raise ModelFileError(f"{where}: missing field {key!r}")
    value = doc[key]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise ModelFileError(f"{where}: field {key!r} is {_kind(value)}, which is the wrong type")
    return value


def _check_classes(raw: list[Any], where: str) -> tuple[str, ...]:
    for i, name in enumerate(raw):
        if not isinstance(name, str):
            raise ModelFileError(f"{where}: class {i} is {_kind(name)}, not a string")
        if not 0 < len(name) <= MAX_CLASS_NAME:
            raise ModelFileError(
                f"{where}: class {i} name must have 1..{MAX_CLASS_NAME} characters")
    return tuple(raw)


def _check_input(inp: dict[str, Any], where: str) -> None:
    pixels = _require(inp, "pixels", list, f"{where}: input")
    if pixels != list(PIXELS):
        raise ModelFileError(
            f"{where}: input pixel order {_short(pixels)} is not {', '.join(PIXELS)}")
    encoding = _require(inp, "encoding", str, f"{where}: input")
    if encoding != ENCODING:
        raise ModelFileError(f"{where}: input encoding {_short(encoding)} is not {ENCODING!r}")


# The training metadata is free-form, but what `pixelnet show` and the demo print from it
# must have the type they print it as.
TRAINING_FIELDS: dict[str, Any] = {
    "trainer": str, "source": str, "seed": int, "epochs_run": int,
    "loss": {"first": float, "final": float},
    "evaluation": {"clean_accuracy": float, "noisy_accuracy": float, "noisy_samples": int},
}


def _check_training(value: Any, fields: dict[str, Any], where: str) -> None:
    if not isinstance(value, dict):
        raise ModelFileError(f"{where} is {_kind(value)}, not an object")
    for key, kind in fields.items():
        if key not in value:
            continue
        item = value[key]
        if isinstance(kind, dict):
            _check_training(item, kind, f"{where} {key!r}")
        elif isinstance(item, bool) or not isinstance(item, int | float if kind is float else kind):
            raise ModelFileError(f"{where} {key!r} is {_kind(item)}, which is the wrong type")
        elif kind is not str and not (isinstance(item, int) or math.isfinite(item)):
            raise ModelFileError(f"{where} {key!r} is not finite")
        elif kind is float and abs(item) > MAX_PARAMETER:
            raise ModelFileError(f"{where} {key!r} is out of range")


def _check_layer(raw: Any, where: str) -> Layer:
    if not isinstance(raw, dict):
        raise ModelFileError(f"{where}: is {_kind(raw)}, not an object")
    activation = _require(raw, "activation", str, where)
    weights = _number_array(_require(raw, "weights", list, where), f"{where} weights", 2)
    if "biases" not in raw:
        raise ModelFileError(f"{where}: missing field 'biases' (null for none)")
    biases = raw["biases"]
    bias_arr = None if biases is None else _number_array(biases, f"{where} biases", 1)
    return Layer(weights, bias_arr, activation)


def model_from_dict(doc: Any, source: str = "model") -> Model:
    """Validate a parsed model file and build the Model; ModelFileError names the problem."""
    if not isinstance(doc, dict):
        raise ModelFileError(f"{source}: not a JSON object")
    if doc.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{source}: not a pixelnet model file (format {_short(doc.get('format'))})")
    version = _require(doc, "version", int, source)
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: model file version {_short(version)} is not supported "
            f"(this pixelnet reads version {FORMAT_VERSION})"
        )
    classes = _check_classes(_require(doc, "classes", list, source), source)
    _check_input(_require(doc, "input", dict, source), source)
    raw_layers = _require(doc, "layers", list, source)
    if len(raw_layers) > MAX_LAYERS:
        raise ModelFileError(f"{source}: {len(raw_layers)} layers; at most {MAX_LAYERS} supported")
    layers = [_check_layer(raw, f"{source}: layer {i}") for i, raw in enumerate(raw_layers)]
    training = doc.get("training")
    training = {} if training is None else training
    _check_training(training, TRAINING_FIELDS, f"{source}: field 'training'")
    stored = _require(doc, "hash", str, source)
    if not HASH_PATTERN.fullmatch(stored):
        raise ModelFileError(f"{source}: field 'hash' is not 64 lowercase hex digits")
    try:
        model = Model(tuple(layers), classes, dict(training))
    except ModelFileError as exc:
        raise ModelFileError(f"{source}: {exc}") from None
    if stored != model.hash:
        raise ModelFileError(
            f"{source}: content hash mismatch (file says {stored[:16]}…, "
            f"contents hash to {model.short_hash}…): the file was edited or corrupted"
        )
    return model


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and validate a model file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; not a model file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return model_from_text(text, str(path))


def model_from_text(text: str, source: str = "model") -> Model:
    """Parse and validate the JSON text of a model file; ModelFileError names the problem."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # A model file ends with the "}" of its object; a cut file rarely does.
        stripped = text.rstrip()
        ends_early = exc.pos >= len(stripped) or not stripped.endswith("}")
        hint = " (truncated?)" if ends_early else ""
        raise ModelFileError(
            f"{source}: invalid JSON at line {exc.lineno}{hint}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ModelFileError(f"{source}: JSON nested too deeply; not a model file") from None
    except ModelFileError as exc:  # NaN or Infinity, refused while parsing
        raise ModelFileError(f"{source}: {exc}") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ModelFileError(f"{source}: invalid JSON: {str(exc).splitlines()[0]}") from None
    return model_from_dict(doc, source)


def _reject_constant(name: str) -> None:
    raise ModelFileError(f"model file contains {name}, which is not a finite number")


def save_model(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write the model file atomically (a crash or full disk never leaves half a file)."""
    text = json.dumps(model.to_dict(), indent=1, allow_nan=False) + "\n"
    return write_atomically(path, text, what="model file", error=ModelFileError)
