"""The model file: exact round trip, a stable content hash, and a clear message for every fault."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelnet.errors import ModelFileError
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import Layer, Model, load_model, save_model


def awkward_model(seed: int = 5) -> Model:
    """Weights that a six-decimal printer would ruin: tiny, huge, subnormal, -0.0."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 1, (4, 6))
    w1[0, :4] = [1e-300, -2.5e-320, 1.0 / 3.0, -0.0]
    w2 = rng.normal(0, 1e5, (6, 4))
    return Model(
        (Layer(w1, rng.normal(0, 1, 6), "tanh"), Layer(w2, None, "identity")),
        training={"seed": seed},
    )


def test_round_trip_is_bit_for_bit(tmp_path: Path) -> None:
    model = awkward_model()
    loaded = load_model(save_model(model, tmp_path / "m.json"))
    for a, b in zip(model.layers, loaded.layers, strict=True):
        assert a.weights.tobytes() == b.weights.tobytes()
        assert (a.biases is None) == (b.biases is None)
        if a.biases is not None:
            assert a.biases.tobytes() == b.biases.tobytes()
        assert a.activation == b.activation
    assert loaded.classes == model.classes
    assert loaded.training == model.training
    assert loaded.hash == model.hash


def test_hash_is_sha256_of_the_canonical_arithmetic_json() -> None:
    doc = awkward_model().to_dict()
    canonical = json.dumps({k: doc[k] for k in ("classes", "input", "layers")},
                           sort_keys=True, separators=(",", ":"))
    assert doc["hash"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_hash_ignores_training_metadata() -> None:
    model = awkward_model()
    relabelled = Model(model.layers, model.classes, {"notes": "retrained on Tuesday"})
    assert relabelled.hash == model.hash
    assert len(model.short_hash) == 16 and model.hash.startswith(model.short_hash)


def test_hash_changes_with_any_single_weight_by_one_ulp() -> None:
    model = lesson_model()
    seen = {model.hash}
    for i, layer in enumerate(model.layers):
        for idx in np.ndindex(layer.weights.shape):
            w = layer.weights.copy()
            w[idx] = np.nextafter(w[idx], np.inf)
            layers = list(model.layers)
            layers[i] = Layer(w, layer.biases, layer.activation)
            seen.add(Model(tuple(layers), model.classes).hash)
    n_weights = sum(layer.weights.size for layer in model.layers)
    assert len(seen) == n_weights + 1


def test_hash_changes_with_biases_activation_and_classes() -> None:
    model = awkward_model()
    first, last = model.layers
    variants = [
        Model((Layer(first.weights, first.biases + 1e-9, "tanh"), last)),
        Model((Layer(first.weights, None, "tanh"), last)),
        Model((Layer(first.weights, first.biases, "logistic"), last)),
        Model(model.layers, ("solid", "vertical", "horizontal", "diagonal")),
    ]
    assert len({model.hash, *(v.hash for v in variants)}) == len(variants) + 1


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return path


def good_doc() -> dict:
    return lesson_model().to_dict()


def mutate(path: str, value: object) -> dict:
    doc = good_doc()
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


DELETE = object()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (mutate("version", 2), "version 2 is not supported"),
        (mutate("format", "onnx"), "not a pixelnet model file"),
        (mutate("layers.1.weights", [[1, 0, 0, 0]] * 3), r"layer 1: weights have shape \(3, 4\)"),
        (mutate("layers.0.biases", [0.0, 1.0]), r"layer 0: biases have shape \(2,\)"),
        (mutate("layers.2.activation", "softplus"), "unknown activation 'softplus'"),
        (mutate("layers.0.weights", [[1, 0], [0, 1, 2], [1, 1], [0, 0]]),
         "rows have different lengths"),
        (mutate("layers.0.weights", [["1", 0, 0, 0]] * 4), "expected a number"),
        (mutate("classes", ["solid", "vertical", "diagonal"]), "4 outputs but 3 class names"),
        (mutate("layers", DELETE), "missing field 'layers'"),
        (mutate("layers.0.biases", DELETE), "missing field 'biases'"),
        (mutate("layers.3.activation", DELETE), "missing field 'activation'"),
        (mutate("hash", DELETE), "missing field 'hash'"),
        (mutate("input.pixels", ["top_right", "top_left", "bottom_left", "bottom_right"]),
         "pixel order"),
        (mutate("layers", []), "no layers"),
    ],
    ids=[
        "wrong-version", "wrong-format", "wrong-weight-shape", "wrong-bias-shape",
        "unknown-activation", "ragged-weights", "string-weight", "class-count",
        "missing-layers", "missing-biases", "missing-activation", "missing-hash",
        "pixel-order", "no-layers",
    ],
)
def test_malformed_model_names_its_problem(tmp_path: Path, doc: dict, message: str) -> None:
    path = write(tmp_path, json.dumps(doc))
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)
    assert "hash mismatch" not in str(info.value)


def test_truncated_file_at_any_point(tmp_path: Path) -> None:
    text = json.dumps(good_doc(), indent=1)
    for cut in range(1, len(text.rstrip()), 7):
        with pytest.raises(ModelFileError, match=r"invalid JSON .*\(truncated\?\)"):
            load_model(write(tmp_path, text[:cut]))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(tmp_path: Path, constant: str) -> None:
    text = json.dumps(good_doc()).replace("[1.0, 0.0, 1.0, 0.0]", f"[{constant}, 0.0, 1.0, 0.0]", 1)
    assert constant in text
    with pytest.raises(ModelFileError, match="not a finite number"):
        load_model(write(tmp_path, text))


def test_nan_weights_cannot_even_be_built() -> None:
    w = np.full((4, 4), np.nan)
    with pytest.raises(ModelFileError, match="NaN or infinity"):
        Model((Layer(w, None, "identity"),))


def test_edited_weight_is_caught_by_the_hash(tmp_path: Path) -> None:
    doc = good_doc()
    doc["layers"][0]["weights"][0][0] = 0.5
    with pytest.raises(ModelFileError, match=r"hash mismatch.*edited or corrupted"):
        load_model(write(tmp_path, json.dumps(doc)))


def test_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(ModelFileError, match="not a JSON object"):
        load_model(write(tmp_path, "[1, 2, 3]"))


def test_save_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = save_model(lesson_model(), tmp_path / "m.json")
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ModelFileError, match="cannot write"):
        save_model(lesson_model(), tmp_path / "a-file" / "m.json")
    assert load_model(path).hash == lesson_model().hash
    nested = save_model(lesson_model(), tmp_path / "new" / "dir" / "m.json")  # made, as mkdir -p
    assert [p.name for p in nested.parent.iterdir()] == ["m.json"]


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 16).flatmap(lambda n: st.tuples(
    st.lists(finite, min_size=4 * n, max_size=4 * n),
    st.lists(finite, min_size=n, max_size=n),
    st.lists(finite, min_size=4 * n, max_size=4 * n),
)))
def test_any_finite_weights_round_trip_exactly(tmp_path_factory, arrays) -> None:
    w1, b1, w2 = (np.array(a) for a in arrays)
    n = b1.size
    model = Model((Layer(w1.reshape(4, n), b1, "relu"), Layer(w2.reshape(n, 4), None, "identity")))
    path = tmp_path_factory.mktemp("rt") / "m.json"
    loaded = load_model(save_model(model, path))
    assert loaded.layers[0].weights.tobytes() == model.layers[0].weights.tobytes()
    assert loaded.layers[0].biases.tobytes() == model.layers[0].biases.tobytes()
    assert loaded.layers[1].weights.tobytes() == model.layers[1].weights.tobytes()
    assert loaded.hash == model.hash
