"""The improved preset's cost against the old one's (the model file bench/reference_improved.py)
and the helpers that measure it."""

from __future__ import annotations

import keras
import numpy as np

from bench import reference_improved
from bench.flops import count_mflops
from bench.time_to_accuracy import seconds_to_reach
from core.config import TrainConfig
from core.model_files import build_body, read_model_file
from core.models import augmentation_layers, build_model

REFERENCE = reference_improved.__file__


def test_reference_is_the_old_improved_preset() -> None:
    reference = reference_improved.build_model()
    assert sum(int(np.prod(w.shape)) for w in reference.trainable_weights) == 361_954
    assert round(count_mflops(reference), 1) == 127.2


def test_the_reference_trains_as_a_model_file_with_the_presets_settings() -> None:
    """``fmnist-tui train --model bench/reference_improved.py`` takes it (the contract of
    core.model_files), at batch size 32, and its ``TRAINING`` are exactly today's improved
    preset's settings, so the cost benchmark compiles both alike. Mutations caught: a
    ``TRAINING`` that differs from the preset's (e.g. learning rate 1e-3), a lost
    ``BATCH_SIZE``, a file ``train`` refuses (``build_model`` renamed)."""
    source = read_model_file(REFERENCE)
    assert source.batch_size == 32
    config = TrainConfig().for_model(REFERENCE).with_training(**reference_improved.TRAINING)
    assert config.training == TrainConfig().for_model("improved").training
    assert config.batch_size == 32
    body = build_body(source)
    assert sum(int(np.prod(w.shape)) for w in body.trainable_weights) == 361_954


def test_improved_costs_about_a_third_of_the_reference_per_image() -> None:
    # 43.8 against 127.2 MFLOP; the larger batch buys the rest of the measured time saving.
    reference = reference_improved.build_model()
    assert count_mflops(build_model("improved")) <= 0.35 * count_mflops(reference)


def test_seed_flops_count() -> None:
    # conv1 26x26x9x28, conv2 11x11x9x28x56, dense 1400x56 and 56x10 multiply-adds, times 2.
    macs = 26 * 26 * 9 * 28 + 11 * 11 * 9 * 28 * 56 + 11 * 11 * 56 * 56 + 56 * 10
    assert count_mflops(build_model("seed")) == 2 * macs / 1e6


def test_the_flop_count_reaches_convolutions_in_nested_models() -> None:
    """Mutation caught: counting the top model's own layers only (``recursive=False``)."""
    inner = keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 3, name="inner_conv")]
    )
    outer = keras.Sequential([keras.Input(shape=(28, 28, 1)), inner])
    assert count_mflops(outer) == count_mflops(inner) == 2 * 26 * 26 * 9 * 4 / 1e6


def test_augmentation_passes_images_through_at_inference() -> None:
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *augmentation_layers()])
    images = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(images, training=False)), images)
    assert np.asarray(model(images, training=True)).shape == images.shape


def test_flip_only_augmentation_keeps_every_pixel() -> None:
    (flip,) = augmentation_layers(shift=False)
    images = np.random.default_rng(1).uniform(size=(8, 28, 28, 1)).astype("float32")
    out = np.asarray(flip(images, training=True))
    for image, seen in zip(images, out, strict=True):
        assert np.array_equal(seen, image) or np.array_equal(seen, image[:, ::-1])


def test_seconds_to_reach_sums_epochs_until_the_first_hit() -> None:
    epochs = [
        {"seconds": 10.0, "val_accuracy": 0.89},
        {"seconds": 12.0, "val_accuracy": 0.925},
        {"seconds": 11.0, "val_accuracy": 0.91},
    ]
    assert seconds_to_reach(epochs, 0.90) == 22.0
    assert seconds_to_reach(epochs, 0.92) == 22.0
    assert seconds_to_reach(epochs, 0.93) is None
