"""The ``improved`` preset as it was before issue 11 (361,954 params, about 127 MFLOP per
image), kept as the reference that the new preset's cost and accuracy are measured against.

Trained with AdamW (learning rate 3e-3, weight decay 1e-4), one warm-up epoch then cosine
decay, label smoothing 0.1, batch size 32, 15 epochs: 0.9405 mean test accuracy over three
seeds on the 2-core CPU at 110-150 s per epoch (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Any

REFERENCE_SETTINGS = {
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "batch_size": 32,
    "epochs": 15,
}


def build_reference_improved() -> Any:
    """A fresh, uncompiled copy of the pre-issue-11 ``improved`` architecture."""
    import keras
    from keras import layers

    def conv_bn(filters: int, name: str) -> list[Any]:
        return [
            layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv"),
            layers.BatchNormalization(name=f"{name}_bn"),
            layers.Activation("relu", name=f"{name}_relu"),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            *conv_bn(56, "block1a"),
            *conv_bn(56, "block1b"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Dropout(0.1, name="drop1"),
            *conv_bn(112, "block2a"),
            *conv_bn(112, "block2b"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Dropout(0.2, name="drop2"),
            *conv_bn(160, "block3"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dropout(0.3, name="drop3"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="improved_reference",
    )
