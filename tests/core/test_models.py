"""Tests for core.models: the presets' architectures and the summary as data."""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest

from core.models import build_model, summarize
from core.presets import PRESET_NAMES, PRESETS, get_preset

SEED_TRAINABLE = 394_530


def layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.fixture(scope="module")
def seed() -> keras.Model:
    return build_model("seed")


@pytest.fixture(scope="module")
def improved() -> keras.Model:
    return build_model("improved")


def test_seed_layers_in_order(seed: keras.Model) -> None:
    layers = seed.layers
    assert layer_types(seed) == [
        "Rescaling",
        "Reshape",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    assert layers[2].filters == 28
    assert layers[2].kernel_size == (3, 3)
    assert layers[4].filters == 56
    assert layers[6].units == 56
    assert layers[7].units == 10
    assert layers[7].activation is keras.activations.softmax


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_models_take_raw_uint8_images(name: str) -> None:
    """Scaling is a layer: the model takes the images as the data files hold them."""
    model = build_model(name)
    assert tuple(model.inputs[0].shape) == (None, 28, 28)
    assert model.inputs[0].dtype == "uint8"
    images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    raw = keras.ops.convert_to_numpy(model(images, training=False))
    scaled = images.astype("float32")[..., None] / 255
    head = keras.Sequential(model.layers[2:])
    expected = keras.ops.convert_to_numpy(head(scaled, training=False))
    np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-6)


def test_preprocessing_layers_have_no_weights(seed: keras.Model) -> None:
    assert [layer.count_params() for layer in seed.layers[:2]] == [0, 0]


def test_seed_parameter_count(seed: keras.Model) -> None:
    # conv1 3*3*1*28+28 = 280, conv2 3*3*28*56+56 = 14,168, dense 11*11*56*56+56 = 379,512,
    # output 56*10+10 = 570.
    assert SEED_TRAINABLE == 280 + 14_168 + 379_512 + 570
    assert trainable_count(seed) == SEED_TRAINABLE
    assert seed.count_params() == SEED_TRAINABLE


def test_seed_deep_adds_two_convs_and_one_pool(seed: keras.Model) -> None:
    deep = Counter(layer_types(build_model("seed-deep")))
    base = Counter(layer_types(seed))
    assert deep["Conv2D"] == base["Conv2D"] + 2
    assert deep["MaxPooling2D"] == base["MaxPooling2D"] + 1
    assert deep["Dense"] == base["Dense"]


def test_improved_architecture(improved: keras.Model) -> None:
    types = set(layer_types(improved))
    assert trainable_count(improved) <= 400_000
    assert {"BatchNormalization", "RandomFlip", "GlobalAveragePooling2D"} <= types
    assert "Flatten" not in types, "the head pools instead of flattening"
    dense_units = [
        layer.units for layer in improved.layers if isinstance(layer, keras.layers.Dense)
    ]
    assert dense_units, "needs an output layer"
    assert max(dense_units) <= 128
    assert improved.layers[-1].units == 10


def test_improved_inference_is_deterministic(improved: keras.Model) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    first = keras.ops.convert_to_numpy(improved(images, training=False))
    second = keras.ops.convert_to_numpy(improved(images, training=False))
    np.testing.assert_allclose(first, second)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_summarize_matches_keras(name: str) -> None:
    model = build_model(name)
    summary = summarize(model)
    assert summary.total_params == model.count_params()
    assert summary.trainable_params == trainable_count(model)
    assert summary.non_trainable_params == summary.total_params - summary.trainable_params
    assert sum(row.params for row in summary.rows) == summary.total_params
    assert [row.name for row in summary.rows] == [layer.name for layer in model.layers]


def test_improved_non_trainable_are_batch_norm_statistics(improved: keras.Model) -> None:
    # Moving mean and variance per channel: blocks of 32, 64, 64, 128, 128 channels.
    assert summarize(improved).non_trainable_params == 2 * (32 + 64 + 64 + 128 + 128)


def test_format_table(seed: keras.Model) -> None:
    table = summarize(seed).format_table()
    lines = table.splitlines()
    assert lines[0] == "Model: seed"
    assert "Trainable params: 394,530" in lines
    assert "Total params: 394,530" in lines
    assert "Non-trainable params: 0" in lines
    dense_row = next(line for line in lines if line.startswith("dense "))
    assert "Dense" in dense_row
    assert "(None, 56)" in dense_row
    assert dense_row.endswith("379,512")


def test_build_model_returns_a_fresh_model_each_call() -> None:
    first, second = build_model("seed"), build_model("seed")
    assert first is not second
    first.layers[-1].kernel.assign(np.zeros((56, 10), dtype="float32"))
    assert np.abs(np.asarray(second.layers[-1].kernel)).sum() > 0


def test_models_are_uncompiled() -> None:
    # Keras 3 only gives a model an ``optimizer`` attribute when it is compiled.
    assert getattr(build_model("seed"), "optimizer", None) is None


def test_unknown_name_raises() -> None:
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet")
    with pytest.raises(ValueError, match="seed, seed-deep, improved"):
        get_preset("")


def test_presets_cover_the_config_names() -> None:
    assert tuple(PRESETS) == PRESET_NAMES
    assert all(PRESETS[name].name == name for name in PRESETS)
