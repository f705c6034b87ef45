"""The ``improved`` preset as it was before issue 11 (361,954 params, 127.2 MFLOP per image),
kept as a model file: the reference that the new preset's cost is measured against, trained by
``fmnist-tui train`` as any model file is::

    fmnist-tui train --model bench/reference_improved.py --epochs 15 --optimizer adamw \\
        --learning-rate 3e-3 --weight-decay 1e-4 --label-smoothing 0.1 --schedule cosine \\
        --warmup-epochs 1

``TRAINING`` holds those settings (a model file declares only its batch size; the rest are
``train`` options): the same as today's ``improved`` preset's, so the two compile alike and
differ in their layers and batch size only. No augmentation; dropout against overfitting.
Keras is imported when the model is built, so the benchmark harness can read the settings
without loading an ML framework.
``bench/improved_cost.py`` times it against the preset (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    from keras import layers

BATCH_SIZE = 32
EPOCHS = 15
TRAINING = {
    "optimizer": "adamw",
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "label_smoothing": 0.1,
    "schedule": "cosine",
    "warmup_epochs": 1.0,
}
"""The ``train`` options it was trained with (``core.hyperparameters.Hyperparameters``)."""


def _conv_bn(filters: int, name: str) -> list[layers.Layer]:
    from keras import layers

    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv"),
        layers.BatchNormalization(name=f"{name}_bn"),
        layers.Activation("relu", name=f"{name}_relu"),
    ]


def build_model() -> keras.Model:
    """A fresh, uncompiled copy of the pre-issue-11 ``improved`` architecture."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            *_conv_bn(56, "block1a"),
            *_conv_bn(56, "block1b"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Dropout(0.1, name="drop1"),
            *_conv_bn(112, "block2a"),
            *_conv_bn(112, "block2b"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Dropout(0.2, name="drop2"),
            *_conv_bn(160, "block3"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dropout(0.3, name="drop3"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="improved_reference",
    )
