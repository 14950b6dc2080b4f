"""A valid model file changed at every key to every JSON type: loading never crashes.

Whatever the change, loading gives a Model or one ModelFileError line. A change
whose content hash is recomputed (as an editor that knows the format would do)
gets past the hash check, so what loads must also summarise, draw and quantise
without a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelnet.codegen.quantize import quantize
from pixelnet.errors import ModelFileError, PixelnetError
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Model, load_model, model_from_text
from pixelnet.trainer.show import draw_network, summary

TRAINING = {
    "trainer": "pixelnet", "seed": 1, "epochs_run": 3, "notes": ["free", {"form": 1}],
    "loss": {"first": 1.25, "final": 0.5},
    "evaluation": {"clean_accuracy": 1.0, "noisy_accuracy": 0.9, "noisy_samples": 2000},
}
HUGE_INTEGER = 10**400  # "1e400" written as an integer literal: no float holds it

# One representative of every JSON type, and the edge of each.
JSON_VALUES: list[Any] = [
    None, True, False, 0, -1, 7, HUGE_INTEGER, -HUGE_INTEGER, 0.5, -1e300, 1e-320,
    "", "tanh", "solid\x1b[2J", [], [1], [[]], ["a", "b"], {}, {"pixels": 5}, {"a": [None]},
]


def base_document() -> dict[str, Any]:
    model = lesson_model()
    return Model(model.layers, model.classes, TRAINING).to_dict()


def key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and list index in the document, depth first (the root excluded)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list):
            yield from key_paths(child, (*prefix, key))


def mutated(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def rehashed(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its hash recomputed the way the format defines it, when possible."""
    part = {key: doc.get(key) for key in ("classes", "input", "layers")}
    try:
        canonical = json.dumps(part, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return doc
    return {**doc, "hash": hashlib.sha256(canonical.encode()).hexdigest()}


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def load_or_refuse(doc: dict[str, Any], *, draw: bool = False) -> Model | None:
    """The model, or None after checking the refusal is one clear line.

    The text goes through the same parser as a file (model_from_text), without the
    disk: thousands of files would make this test slow on a busy machine.
    """
    try:
        model = model_from_text(json.dumps(doc), "m.json")
    except ModelFileError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 400, message
        return None
    summary(model)
    if draw:
        draw_network(model)
    for fmt in ("q7", "q15"):
        try:
            quantize(model, fmt)
        except PixelnetError as exc:
            assert "\n" not in str(exc)
    return model


def load_or_refuse_file(path: Path) -> Model | None:
    """As load_or_refuse, through the file on disk."""
    try:
        return load_model(path)
    except ModelFileError as exc:
        assert "\n" not in str(exc)
        return None


PATHS = list(key_paths(base_document()))


def test_the_mutations_reach_every_key() -> None:
    assert len(PATHS) > 150
    assert ("input", "pixels") in PATHS and ("training", "evaluation", "noisy_samples") in PATHS
    assert ("layers", 3, "weights", 7, 3) in PATHS


@pytest.mark.parametrize("rehash", [False, True], ids=["stale-hash", "recomputed-hash"])
def test_every_key_set_to_every_json_type(rehash: bool) -> None:
    doc = base_document()
    loaded = refused = 0
    for path in PATHS:
        for value in JSON_VALUES:
            changed = mutated(doc, path, value)
            if rehash:
                changed = rehashed(changed)
            if load_or_refuse(changed) is None:
                refused += 1
            else:
                loaded += 1
    assert loaded + refused == len(PATHS) * len(JSON_VALUES)
    # with a stale hash only changes outside the arithmetic (training notes) may load
    assert refused > (0.9 if not rehash else 0.5) * (loaded + refused)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=json_values, rehash=st.booleans())
def test_any_json_value_at_any_key(tmp_path: Path, path: tuple, value: Any,
                                   rehash: bool) -> None:
    changed = mutated(base_document(), path, value)
    if rehash:
        changed = rehashed(changed)
    load_or_refuse(changed, draw=True)
    loaded = load_or_refuse_file(write(tmp_path / "m.json", changed))
    assert loaded is None or loaded.hash == changed["hash"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' + "1" * 5000 + "}", "invalid JSON"),
        ("\xff\xfe{}", "not UTF-8"),
    ],
    ids=["100000-brackets", "5000-digit-integer", "not-utf8"],
)
def test_pathological_json_is_refused_in_one_line(tmp_path: Path, text: str,
                                                  message: str) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_a_file_too_large_to_be_a_model_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    with open(path, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ModelFileError, match="larger than"):
        load_model(path)


def test_class_names_that_would_drive_the_terminal_are_refused(tmp_path: Path) -> None:
    doc = rehashed(mutated(base_document(), ("classes", 1), "vert\x1b]0;owned\x07"))
    with pytest.raises(ModelFileError, match="control characters") as info:
        load_model(write(tmp_path / "m.json", doc))
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)
