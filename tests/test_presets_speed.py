"""The improved preset's cost and the helpers of its search (bench/improved_search.py)."""

from __future__ import annotations

import keras
import numpy as np

from bench.improved_search import build, count_mflops
from bench.reference_improved import build_reference_improved
from bench.time_to_accuracy import seconds_to_reach
from core.models import augmentation_layers, build_model


def test_reference_is_the_old_improved_preset() -> None:
    reference = build_reference_improved()
    assert sum(int(np.prod(w.shape)) for w in reference.trainable_weights) == 361_954
    assert round(count_mflops(reference), 1) == 127.2


def test_improved_costs_about_a_third_of_the_reference_per_image() -> None:
    # 43.8 against 127.2 MFLOP; the larger batch buys the rest of the measured time saving.
    assert count_mflops(build_model("improved")) <= 0.35 * count_mflops(build_reference_improved())


def test_seed_flops_count() -> None:
    # conv1 26x26x9x28, conv2 11x11x9x28x56, dense 1400x56 and 56x10 multiply-adds, times 2.
    macs = 26 * 26 * 9 * 28 + 11 * 11 * 9 * 28 * 56 + 11 * 11 * 56 * 56 + 56 * 10
    assert count_mflops(build_model("seed")) == 2 * macs / 1e6


def test_the_residual_candidate_has_the_presets_params_and_flops_and_shortcuts() -> None:
    """``--arch res32`` differs from the preset's net only in how it connects the same convs;
    its convs sit in a nested model, which the FLOP count must reach."""
    preset_net, residual = (build(arch, dropout=0.0, augment="flip") for arch in ("vgg32", "res32"))
    weights = [
        sum(int(np.prod(w.shape)) for w in m.trainable_weights) for m in (preset_net, residual)
    ]
    assert weights == [278_890, 278_890]
    assert count_mflops(residual) == count_mflops(preset_net)
    body = residual.get_layer("residual_body")
    assert [layer.name for layer in body.layers if isinstance(layer, keras.layers.Add)] == [
        "stage2b_add",
        "stage3b_add",
    ]
    assert residual(np.zeros((2, 28, 28, 1), dtype="float32")).shape == (2, 10)


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
