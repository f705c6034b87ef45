"""Building and compiling models: the layers every model shares, and their summaries.

Every model takes raw images, ``(28, 28)`` uint8 as the data files hold them: scaling to 0-1
and the channel axis are its first layers, so a saved ``model.keras`` classifies images in
plain Keras without knowing our normalisation. Those layers have no weights; the parameter
counts are the seed notebook's. The models themselves are the presets' (:mod:`core.presets`).

Importing this module imports Keras (and so the backend's framework): front ends import it
lazily, in the worker that trains, never before their first frame.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from core.hyperparameters import Hyperparameters
from core.model_files import ModelSource, build_body
from core.presets import get_preset
from core.summary import LayerRow, ModelSummary

IMAGE_SHAPE = (28, 28)
"""What every model takes: raw uint8 images."""
INPUT_SHAPE = (28, 28, 1)
"""What a preset's own layers see, after the shared preprocessing (and what models saved
before preprocessing moved into the model took, as floats in 0-1)."""
PLAIN_LOSS = "crossentropy"
"""Metric name of the unsmoothed cross-entropy, tracked when a run smooths its labels."""


def _image_input() -> keras.KerasTensor:
    return keras.Input(shape=IMAGE_SHAPE, dtype="uint8", name="image")


def _preprocessing() -> list[layers.Layer]:
    return [layers.Rescaling(1 / 255, name="scale"), layers.Reshape(INPUT_SHAPE, name="channel")]


def augmentation_layers(*, shift: bool = True) -> list[layers.Layer]:
    """Random horizontal flips and, with ``shift``, shifts of up to 2 pixels each way.

    Active only while training (Keras random layers pass images through at inference). Never a
    vertical flip: Fashion-MNIST items are upright. Usable in front of any model's layers.
    """
    stack: list[layers.Layer] = [layers.RandomFlip("horizontal", name="random_flip")]
    if shift:
        stack.append(
            layers.RandomTranslation(
                2 / 28, 2 / 28, fill_mode="constant", interpolation="nearest", name="random_shift"
            )
        )
    return stack


def assemble(body: keras.Model, *, flips: bool = False) -> keras.Model:
    """``body`` (taking ``(28, 28, 1)`` floats in 0-1) behind the layers every model shares:
    raw uint8 images in, scaled inside, and random flips while training when ``flips``.

    A Sequential body's layers are spliced in, so the summary lists them as its own.
    """
    front = _preprocessing()
    if flips:
        front += augmentation_layers(shift=False)
    if isinstance(body, keras.Sequential):
        return keras.Sequential([_image_input(), *front, *body.layers], name=body.name)
    inputs = _image_input()
    x = inputs
    for layer in front:
        x = layer(x)
    return keras.Model(inputs, body(x), name=body.name)


def build_model(
    name: str, *, augment: bool = False, source: ModelSource | None = None
) -> keras.Model:
    """A fresh, uncompiled model: the preset ``name``, or the model file ``source``.

    Random horizontal flips (:func:`augmentation_layers`, active only while training) go in
    front of its own layers when ``augment`` is set or the preset always flips.

    Raises:
        ValueError: there is no preset called ``name``.
        ModelFileError: the model file's code failed or built the wrong kind of model.
    """
    if source is not None:
        return assemble(build_body(source), flips=augment)
    preset = get_preset(name)
    return assemble(preset.build(), flips=augment or preset.flips)


def learning_rate_schedule(
    training: Hyperparameters, steps_per_epoch: int, epochs: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate: constant, or warm-up then cosine decay over ``epochs``."""
    if not training.cosine:
        return training.learning_rate
    warmup = int(training.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else training.learning_rate,
        warmup_target=training.learning_rate if warmup else None,
        warmup_steps=warmup,
        decay_steps=max(1, steps_per_epoch * epochs - warmup),
    )


def make_optimizer(
    training: Hyperparameters, steps_per_epoch: int, epochs: int
) -> keras.optimizers.Optimizer:
    """A fresh optimizer with its schedule for ``epochs`` epochs of ``steps_per_epoch``."""
    learning_rate = learning_rate_schedule(training, steps_per_epoch, epochs)
    if training.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate,
            momentum=training.momentum,
            nesterov=True,
            weight_decay=training.weight_decay or None,
        )
    if training.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=training.weight_decay)
    return keras.optimizers.Adam(learning_rate)


def compile_model(
    model: keras.Model,
    training: Hyperparameters,
    steps_per_epoch: int,
    epochs: int,
    *,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> None:
    """Compile ``model`` with ``training``'s optimizer, schedule and loss.

    The compile settings are saved in ``model.keras``: they keep Keras' defaults (one batch
    per call), since PyTorch's Keras refuses to load a file that asks for more. Training
    sets ``model.steps_per_execution`` itself.

    Args:
        optimizer: keep this optimizer (with its moments and schedule) instead of a new one.
    """
    if optimizer is None:
        optimizer = make_optimizer(training, steps_per_epoch, epochs)
    model.compile(optimizer=optimizer, **_loss_and_metrics(training))


def one_hot_labels(training: Hyperparameters) -> bool:
    """Whether training takes one-hot labels: Keras smooths labels only on those."""
    return training.label_smoothing > 0


def _loss_and_metrics(training: Hyperparameters) -> dict[str, Any]:
    loss: keras.losses.Loss
    metrics: list[str | keras.metrics.Metric] = ["accuracy"]
    if one_hot_labels(training):
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=training.label_smoothing)
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
    return keras.Sequential([_image_input(), *_preprocessing(), *model.layers], name=model.name)


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


def _rows(model: keras.Model, prefix: str = "") -> list[LayerRow]:
    rows: list[LayerRow] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue  # a functional model's inputs: no weights, no work
        if isinstance(layer, keras.Model):
            # A model inside the model (a model file's functional body): its own layers.
            rows += _rows(layer, f"{prefix}{layer.name}/")
            continue
        rows.append(
            LayerRow(
                name=prefix + layer.name,
                type=type(layer).__name__,
                output_shape=_shape_text(layer),
                params=_count(layer.weights),
            )
        )
    return rows


def summarize(model: keras.Model) -> ModelSummary:
    """Layer rows and parameter totals of a built model, as data."""
    rows = tuple(_rows(model))
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return ModelSummary(
        model_name=model.name,
        rows=rows,
        total_params=trainable + non_trainable,
        trainable_params=trainable,
        non_trainable_params=non_trainable,
    )
