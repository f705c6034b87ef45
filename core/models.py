"""Named model presets, each building a fresh, uncompiled Keras model, and their summaries.

Every model takes raw images, ``(28, 28)`` uint8 as the data files hold them: scaling to 0-1
and the channel axis are its first layers, so a saved ``model.keras`` classifies images in
plain Keras without knowing our normalisation. Those layers have no weights; the parameter
counts are the seed notebook's.

Importing this module imports Keras (and so the backend's framework): front ends import it
lazily, in the worker that trains, never before their first frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from core.config import MODEL_PRESETS
from core.evaluation import NUM_CLASSES
from core.summary import LayerRow, ModelSummary

IMAGE_SHAPE = (28, 28)
"""What every model takes: raw uint8 images."""
INPUT_SHAPE = (28, 28, 1)
"""What the convolutions see, after the preprocessing layers (and what models saved before
preprocessing moved into the model took, as floats in 0-1)."""
PLAIN_LOSS = "crossentropy"
"""Metric name of the unsmoothed cross-entropy, tracked when a preset smooths its labels."""


@dataclass(frozen=True, slots=True)
class Preset:
    """How to build and train one named model."""

    name: str
    description: str
    build: Callable[[], keras.Model]
    learning_rate: float = 1e-3
    weight_decay: float | None = None
    """Decoupled weight decay (AdamW) when set, plain Adam otherwise."""
    cosine_decay: bool = False
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    ema_momentum: float | None = None
    """Evaluate with an exponential moving average of the weights when set."""


PREPROCESSING_LAYERS = 2
"""Layers before the preset's own: scaling and the channel axis (``model.layers[2:]``)."""


def _preprocessing() -> list[keras.KerasTensor | layers.Layer]:
    return [
        keras.Input(shape=IMAGE_SHAPE, dtype="uint8", name="image"),
        layers.Rescaling(1 / 255, name="scale"),
        layers.Reshape(INPUT_SHAPE, name="channel"),
    ]


def _seed() -> keras.Model:
    return keras.Sequential(
        [
            *_preprocessing(),
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
    return keras.Sequential(
        [
            *_preprocessing(),
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


def _conv_bn(filters: int, name: str) -> list[layers.Layer]:
    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv"),
        layers.BatchNormalization(name=f"{name}_bn"),
        layers.Activation("relu", name=f"{name}_relu"),
    ]


def augmentation_layers(*, shift: bool = True) -> list[layers.Layer]:
    """Random horizontal flips and, with ``shift``, shifts of up to 2 pixels each way.

    Active only while training (Keras random layers pass images through at inference). Never a
    vertical flip: Fashion-MNIST items are upright. Usable in front of any preset's layers.
    """
    stack: list[layers.Layer] = [layers.RandomFlip("horizontal", name="random_flip")]
    if shift:
        stack.append(
            layers.RandomTranslation(
                2 / 28, 2 / 28, fill_mode="constant", interpolation="nearest", name="random_shift"
            )
        )
    return stack


def _improved() -> keras.Model:
    # A third of the old preset's cost (bench/reference_improved.py): one cheap 32-channel
    # conv at full resolution, then pooling early, so most convolutions run at 14x14 and 7x7.
    # Batch norm, a global-pooling head, label smoothing and weight decay as before; random
    # horizontal flips replace dropout against overfitting (BENCHMARKS.md has the search).
    stack: list[keras.KerasTensor | layers.Layer] = _preprocessing()
    stack += augmentation_layers(shift=False)
    stack += _conv_bn(32, "block1")
    stack.append(layers.MaxPooling2D(2, name="pool1"))
    stack += [*_conv_bn(64, "block2a"), *_conv_bn(64, "block2b")]
    stack.append(layers.MaxPooling2D(2, name="pool2"))
    stack += [*_conv_bn(128, "block3a"), *_conv_bn(128, "block3b")]
    stack += [
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(NUM_CLASSES, activation="softmax", name="output"),
    ]
    return keras.Sequential(stack, name="improved")


PRESETS: dict[str, Preset] = {
    "seed": Preset("seed", "The reference CNN from the seed notebook (394,530 params).", _seed),
    "seed-deep": Preset(
        "seed-deep", "The seed with two more conv layers and one more max-pool.", _seed_deep
    ),
    "improved": Preset(
        "improved",
        "Batch norm, early pooling, random flips, label smoothing, a global-pooling head; "
        "batch size 128.",
        _improved,
        learning_rate=3e-3,
        weight_decay=1e-4,
        cosine_decay=True,
        warmup_epochs=1.0,
        label_smoothing=0.1,
    ),
}
assert tuple(PRESETS) == MODEL_PRESETS


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(PRESETS)}") from None


def build_model(name: str, *, augment: bool = False) -> keras.Model:
    """A fresh, uncompiled model for the preset ``name``.

    With ``augment``, random horizontal flips (:func:`augmentation_layers`, active only while
    training) go in front of the preset's own layers, unless the preset flips already.
    """
    model = get_preset(name).build()
    if not augment or any(isinstance(layer, layers.RandomFlip) for layer in model.layers):
        return model
    own = model.layers[PREPROCESSING_LAYERS:]
    stack: list[keras.KerasTensor | layers.Layer] = _preprocessing()
    stack += augmentation_layers(shift=False)
    stack += own
    return keras.Sequential(stack, name=model.name)


def learning_rate_schedule(
    preset: Preset, steps_per_epoch: int, epochs: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The preset's learning rate: constant, or warm-up then cosine decay over the run."""
    if not preset.cosine_decay:
        return preset.learning_rate
    warmup = int(preset.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else preset.learning_rate,
        warmup_target=preset.learning_rate if warmup else None,
        warmup_steps=warmup,
        decay_steps=max(1, steps_per_epoch * epochs - warmup),
    )


def compile_model(
    model: keras.Model,
    preset: Preset,
    steps_per_epoch: int,
    epochs: int,
    *,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> None:
    """Compile ``model`` with the preset's optimizer, schedule and loss.

    The compile settings are saved in ``model.keras``: they keep Keras' defaults (one batch
    per call), since PyTorch's Keras refuses to load a file that asks for more. Training
    sets ``model.steps_per_execution`` itself.

    Args:
        optimizer: keep this optimizer (with its moments and schedule) instead of a new one.
    """
    if optimizer is not None:
        model.compile(optimizer=optimizer, **_loss_and_metrics(preset))
        return
    learning_rate = learning_rate_schedule(preset, steps_per_epoch, epochs)
    if preset.weight_decay is not None:
        optimizer = keras.optimizers.AdamW(
            learning_rate,
            weight_decay=preset.weight_decay,
            use_ema=preset.ema_momentum is not None,
            ema_momentum=preset.ema_momentum or 0.99,
        )
    else:
        optimizer = keras.optimizers.Adam(
            learning_rate,
            use_ema=preset.ema_momentum is not None,
            ema_momentum=preset.ema_momentum or 0.99,
        )
    model.compile(optimizer=optimizer, **_loss_and_metrics(preset))


def _loss_and_metrics(preset: Preset) -> dict[str, Any]:
    loss: keras.losses.Loss
    metrics: list[str | keras.metrics.Metric] = ["accuracy"]
    if preset.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=preset.label_smoothing)
        # The smoothed loss runs higher than the test loss that evaluation reports; track
        # the plain cross-entropy too so every loss a user sees means the same thing.
        metrics.append(keras.metrics.CategoricalCrossentropy(name=PLAIN_LOSS))
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    return {"loss": loss, "metrics": metrics}


def takes_raw_images(model: keras.Model) -> bool:
    """Whether ``model`` takes uint8 ``(28, 28)`` images (scaling inside), as every model
    built since preprocessing moved into the model does; older ones take floats in 0-1."""
    return bool(model.inputs) and tuple(model.inputs[0].shape[1:]) == IMAGE_SHAPE


def with_preprocessing(model: keras.Model) -> keras.Model:
    """A model saved before preprocessing moved inside, behind the preprocessing layers:
    the same layers and weight variables (so an optimizer built for them carries on).
    Uncompiled: pass the old model's optimizer to :func:`compile_model`."""
    return keras.Sequential([*_preprocessing(), *model.layers], name=model.name)


def _count(weights: list[keras.Variable]) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


def _shape_text(layer: layers.Layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def summarize(model: keras.Model) -> ModelSummary:
    """Layer rows and parameter totals of a built model, as data."""
    rows = tuple(
        LayerRow(
            name=layer.name,
            type=type(layer).__name__,
            output_shape=_shape_text(layer),
            params=_count(layer.weights),
        )
        for layer in model.layers
    )
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return ModelSummary(
        model_name=model.name,
        rows=rows,
        total_params=trainable + non_trainable,
        trainable_params=trainable,
        non_trainable_params=non_trainable,
    )
