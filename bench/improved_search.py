"""Search for a cheaper ``improved`` preset on the real data, one candidate per process.

Each call trains one candidate (an architecture from :data:`ARCHS`, with a batch size,
learning rate, epochs, augmentation and seed) through the same pipelines and compile
settings as ``fmnist-tui train`` (``core.training`` / ``core.models.compile_model``), reports
per-epoch train/validation accuracy and seconds (``on_epoch_begin`` to ``on_epoch_end``,
validation included), the final validation accuracy with and without horizontal-flip
averaging, trainable params and MFLOP per image (convolution and dense multiply-adds counted
analytically, times two), and appends one JSON line to ``bench/results/improved_search.jsonl``.
Choices are made on the validation split only: this script never touches the test set.

``--probe N`` only times N training steps (after 5 warm-up steps) to compare throughput.

``python -m bench.improved_search --arch vgg32 --epochs 15 --batch-size 128 --lr 3e-3``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "improved_search.jsonl"
DATA_DIR = "/usr/share/datasets/fashion-mnist"

# Stages of 3x3 conv-BN-ReLU blocks; a 2x2 max-pool between stages; global average pooling
# and one dense layer at the end.
ARCHS: dict[str, list[list[int]]] = {
    "vgg32": [[32], [64, 64], [128, 128]],
    "vgg32x2": [[32, 32], [64, 64], [128, 128]],
    "vgg24w": [[24], [64, 96], [144, 144]],
    "vgg32w": [[32], [64, 96], [128, 160]],
    "vgg48": [[48], [96, 96], [160]],
    "vgg32_3": [[32], [64, 64, 64], [128, 128]],
    "vgg32w7": [[32], [64, 64], [160, 160]],
}


def count_mflops(model: Any) -> float:
    """Forward MFLOP per image: 2 x multiply-adds of every Conv2D and Dense layer."""
    from keras import layers

    macs = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w = layer.kernel_size
            c_in = layer.input.shape[-1]
            macs += h * w * k_h * k_w * c_in * c_out
        elif isinstance(layer, layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 2 * macs / 1e6


def _residual_body() -> Any:
    """``vgg32``'s convolutions (the same params and FLOPs) as a small residual net: the
    first conv of each later stage downsamples (stride 2, learned, instead of max-pooling)
    and the second adds its input back (identity shortcut)."""
    import keras
    from keras import layers

    from core.models import INPUT_SHAPE

    def conv_bn(x: Any, filters: int, name: str, strides: int = 1) -> Any:
        x = layers.Conv2D(
            filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
        )(x)
        return layers.BatchNormalization(name=f"{name}_bn")(x)

    inputs = keras.Input(shape=INPUT_SHAPE, name="features")
    x = layers.ReLU(name="stage1a_relu")(conv_bn(inputs, 32, "stage1a"))
    for s, filters in ((2, 64), (3, 128)):
        x = layers.ReLU(name=f"stage{s}a_relu")(conv_bn(x, filters, f"stage{s}a", strides=2))
        y = conv_bn(x, filters, f"stage{s}b")
        x = layers.ReLU(name=f"stage{s}b_relu")(layers.Add(name=f"stage{s}b_add")([x, y]))
    outputs = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, outputs, name="residual_body")


def build(arch: str, *, dropout: float, augment: str, head: str = "gap") -> Any:
    import keras
    from keras import layers

    from core.models import INPUT_SHAPE, augmentation_layers

    stack: list[Any] = [keras.Input(shape=INPUT_SHAPE, name="image")]
    if augment != "none":
        stack += augmentation_layers(shift=augment in ("shift", "flipshift"))
        if augment == "flipshift1":
            # Shifts of up to 1 pixel (augmentation_layers' are up to 2).
            stack.append(
                layers.RandomTranslation(
                    1 / 28,
                    1 / 28,
                    fill_mode="constant",
                    interpolation="nearest",
                    name="random_shift",
                )
            )
        if augment == "fliperase":
            # Random erasing (Zhong et al. 2017): half the images get a black rectangle over
            # 2-33% of their area. The images are scaled to [0, 1] by then.
            stack.append(
                layers.RandomErasing(
                    factor=1.0,
                    scale=(0.02, 0.33),
                    fill_value=0.0,
                    value_range=(0, 1),
                    name="random_erasing",
                )
            )
    if arch == "res32":
        stack.append(_residual_body())  # its convolutions and its global pooling
    else:
        for s, stage in enumerate(ARCHS[arch]):
            if s:
                stack.append(layers.MaxPooling2D(2, name=f"pool{s}"))
            for b, filters in enumerate(stage):
                name = f"stage{s + 1}{chr(ord('a') + b)}"
                stack += [
                    layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv"),
                    layers.BatchNormalization(name=f"{name}_bn"),
                    layers.Activation("relu", name=f"{name}_relu"),
                ]
        if head == "gap":
            stack.append(layers.GlobalAveragePooling2D(name="gap"))
        else:  # "flatten": keep where in the 7x7 map each feature fired
            stack.append(layers.Flatten(name="flatten"))
    if dropout:
        stack.append(layers.Dropout(dropout, name="drop"))
    # Probabilities in float32 whatever the policy (Keras' advice for mixed precision).
    stack.append(layers.Dense(10, activation="softmax", name="output", dtype="float32"))
    return keras.Sequential(stack, name=arch)


class _Timer:
    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self._start = 0.0

    def callback(self) -> Any:
        import keras

        timer = self

        class Cb(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                timer._start = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                logs = logs or {}
                row = {
                    "epoch": epoch + 1,
                    "seconds": round(time.perf_counter() - timer._start, 2),
                    "accuracy": round(float(logs.get("accuracy", 0.0)), 4),
                    "val_accuracy": round(float(logs.get("val_accuracy", 0.0)), 4),
                }
                timer.rows.append(row)
                print(json.dumps(row), flush=True)

        return Cb()


def flip_averaged_accuracy(model: Any, images: Any, labels: Any) -> tuple[float, float]:
    """Accuracy of ``model`` on uint8 ``images`` without and with horizontal-flip averaging."""
    import numpy as np

    # Models take the raw 28x28 uint8 images and scale them themselves (core.models).
    plain = model.predict(images, batch_size=512, verbose=0)
    flipped = model.predict(np.ascontiguousarray(images[:, :, ::-1]), batch_size=512, verbose=0)
    return (
        float(np.mean(plain.argmax(1) == labels)),
        float(np.mean((plain + flipped).argmax(1) == labels)),
    )


def _optimizer(args: argparse.Namespace, preset: Any, steps_per_epoch: int) -> Any:
    """The optimizer ``--optimizer`` asks for; None for the preset's own (AdamW)."""
    if args.optimizer == "adamw":
        return None
    import keras

    from core.models import learning_rate_schedule

    return keras.optimizers.SGD(
        learning_rate_schedule(preset, steps_per_epoch, args.epochs),
        momentum=0.9,
        nesterov=True,
        weight_decay=args.weight_decay,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.improved_search")
    parser.add_argument("--arch", required=True, choices=(*ARCHS, "res32", "reference"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--smoothing", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument(
        "--augment",
        choices=("none", "flip", "shift", "flipshift", "flipshift1", "fliperase"),
        default="none",
    )
    parser.add_argument("--ema", type=float)
    parser.add_argument(
        "--optimizer",
        choices=("adamw", "sgd"),
        default="adamw",
        help="sgd: Nesterov momentum 0.9, the same schedule, --weight-decay decoupled",
    )
    parser.add_argument("--head", choices=("gap", "flatten"), default="gap")
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16"),
        default="float32",
        help="Keras dtype policy of the whole model (mixed: bfloat16 compute, float32 weights)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe", type=int, help="only time this many training steps")
    parser.add_argument(
        "--stop-after", type=int, help="train only this many of --epochs (timing the reference)"
    )
    parser.add_argument("--limit-train", type=int)
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)

    from core.logs import quiet_tensorflow_env

    quiet_tensorflow_env()
    import keras

    from core.batches import epoch_arrays, labels_for
    from core.data import load_dataset
    from core.models import Preset, compile_model, with_preprocessing
    from core.training import VALIDATION_BATCH_SIZE

    dataset = load_dataset(DATA_DIR, limit_train=args.limit_train, seed=args.seed)
    builder: Callable[[], Any]
    if args.arch == "reference":
        from bench.reference_improved import build_reference_improved

        builder = build_reference_improved
    else:

        def builder() -> Any:
            return build(args.arch, dropout=args.dropout, augment=args.augment, head=args.head)

    preset = Preset(
        "candidate",
        "",
        builder,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        cosine_decay=True,
        warmup_epochs=args.warmup,
        label_smoothing=args.smoothing,
        ema_momentum=args.ema,
    )
    keras.config.set_dtype_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    model = with_preprocessing(builder())  # uint8 images in, as every preset takes them
    steps = math.ceil(dataset.train_samples / args.batch_size)
    compile_model(model, preset, steps, args.epochs, optimizer=_optimizer(args, preset, steps))
    one_hot = args.smoothing > 0
    record: dict[str, Any] = {
        "arch": args.arch,
        "params": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        "mflop_per_image": round(count_mflops(model), 2),
        **{k: v for k, v in vars(args).items() if k not in ("arch", "note")},
        "note": args.note,
        "load_before": os.getloadavg(),
    }
    if args.probe:
        x_all, y_all = epoch_arrays(
            dataset.x_train, dataset.y_train, seed=args.seed, epoch=0, one_hot=one_hot
        )
        size = args.batch_size
        batches = [
            (x_all[i * size : (i + 1) * size], y_all[i * size : (i + 1) * size])
            for i in range(args.probe + 5)
        ]
        for x, y in batches[:5]:
            model.train_on_batch(x, y)
        start = time.perf_counter()
        for x, y in batches[5:]:
            model.train_on_batch(x, y)
        per_step = (time.perf_counter() - start) / args.probe
        record["probe_s_per_step"] = round(per_step, 4)
        record["probe_train_s_per_epoch"] = round(per_step * steps, 1)
        record["load_after"] = os.getloadavg()
        print(json.dumps(record))
        with RESULTS.open("a") as out:
            out.write(json.dumps({"kind": "probe", **record}) + "\n")
        return 0
    # Fed as ``fmnist-tui train`` feeds it (core.training): each epoch's uint8 images in that
    # epoch's order (core.batches), validation at max(batch size, 256).
    validation = (dataset.x_val, labels_for(dataset.y_val, one_hot=one_hot))
    timer = _Timer()
    for epoch in range(args.stop_after or args.epochs):
        x_train, y_train = epoch_arrays(
            dataset.x_train, dataset.y_train, seed=args.seed, epoch=epoch, one_hot=one_hot
        )
        model.fit(
            x_train,
            y_train,
            batch_size=args.batch_size,
            validation_data=validation,
            validation_batch_size=max(args.batch_size, VALIDATION_BATCH_SIZE),
            initial_epoch=epoch,
            epochs=epoch + 1,
            callbacks=[timer.callback()],
            shuffle=False,
            verbose=0,
        )
    val_plain, val_flip = flip_averaged_accuracy(model, dataset.x_val, dataset.y_val)
    record.update(
        history=timer.rows,
        total_seconds=round(sum(r["seconds"] for r in timer.rows), 1),
        final_val_accuracy=round(val_plain, 4),
        final_val_accuracy_flip=round(val_flip, 4),
        load_after=os.getloadavg(),
    )
    print(json.dumps({k: v for k, v in record.items() if k != "history"}))
    with RESULTS.open("a") as out:
        out.write(json.dumps({"kind": "run", **record}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
