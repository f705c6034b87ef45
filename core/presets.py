"""The named models, each in one place: its layers, batch size, training settings and flips.

A preset's builder makes the model's own layers, taking ``(28, 28, 1)`` images scaled to 0-1;
:func:`core.models.build_model` puts the layers every model shares in front (raw uint8 images
in, scaled inside) and the random flips when the run augments. Importing this module imports
no ML framework: each builder imports Keras when it is called, so the CLI and the app's dialog
can list the presets, their batch sizes and settings before the first frame.

Adding a preset: a builder below and an entry in :data:`PRESETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from core.evaluation import NUM_CLASSES
from core.hyperparameters import Hyperparameters

if TYPE_CHECKING:
    import keras
    from keras import layers

DEFAULT_BATCH_SIZE: Final = 32
DEFAULT_MODEL: Final = "seed"
"""The model a run trains unless told otherwise: the reference notebook's."""


@dataclass(frozen=True, slots=True)
class Preset:
    """One named model: how to build it and how it is trained unless a run says otherwise."""

    name: str
    description: str
    build: Callable[[], keras.Model]
    """Builds the model's own layers, fresh and uncompiled, for ``(28, 28, 1)`` inputs in 0-1."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """The batch size its learning rate was tuned for."""
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    flips: bool = False
    """Always trains on randomly mirrored images too (and so is evaluated on each test image
    and its mirror image), whatever the run's augment setting."""


def _seed() -> keras.Model:
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name="seed",
    )


def _seed_deep() -> keras.Model:
    # The seed notebook's follow-up experiment: two more convolutions and one more pooling.
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.Conv2D(28, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv3"),
            layers.Conv2D(56, 3, activation="relu", name="conv4"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name="seed_deep",
    )


def conv_bn(filters: int, name: str) -> list[layers.Layer]:
    """A 3x3 convolution without bias, batch norm, then ReLU."""
    from keras import layers

    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv"),
        layers.BatchNormalization(name=f"{name}_bn"),
        layers.Activation("relu", name=f"{name}_relu"),
    ]


def _improved() -> keras.Model:
    # A third of the old preset's cost (bench/reference_improved.py): one cheap 32-channel
    # conv at full resolution, then pooling early, so most convolutions run at 14x14 and 7x7.
    # Batch norm, a global-pooling head, label smoothing and weight decay; random horizontal
    # flips (the preset's ``flips``) replace dropout against overfitting (BENCHMARKS.md has
    # the search).
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *conv_bn(32, "block1"),
            layers.MaxPooling2D(2, name="pool1"),
            *conv_bn(64, "block2a"),
            *conv_bn(64, "block2b"),
            layers.MaxPooling2D(2, name="pool2"),
            *conv_bn(128, "block3a"),
            *conv_bn(128, "block3b"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
        ],
        name="improved",
    )


PRESETS: Final[dict[str, Preset]] = {
    preset.name: preset
    for preset in (
        Preset("seed", "The reference CNN from the seed notebook (394,530 params).", _seed),
        Preset(
            "seed-deep", "The seed with two more conv layers and one more max-pool.", _seed_deep
        ),
        Preset(
            "improved",
            "Batch norm, early pooling, random flips, label smoothing, a global-pooling head; "
            "batch size 128.",
            _improved,
            batch_size=128,
            hyperparameters=Hyperparameters(
                optimizer="adamw",
                learning_rate=3e-3,
                weight_decay=1e-4,
                label_smoothing=0.1,
                schedule="cosine",
                warmup_epochs=1.0,
            ),
            flips=True,
        ),
    )
}
PRESET_NAMES: Final = tuple(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        ValueError: there is none; the message names the presets there are.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(PRESETS)}") from None
