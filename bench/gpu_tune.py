"""Tune the improved preset on a GPU box that has Keras+JAX but no TensorFlow.

Runs one variant/seed: KERAS_BACKEND=jax python bench/gpu_tune.py VARIANT SEED DATA_DIR EPOCHS
Prints one JSON line with per-epoch metrics and the test accuracy, stamped with the device,
the Keras backend and versions, the date and the code version (:func:`run_metadata`).

The code version comes from git when the checkout has it; a copy without ``.git`` (the GPU
box gets the working tree only) must be told it in ``$BENCH_CODE``, the JSON of
``bench.common.code_version()`` on the machine that has the checkout (``bench/gpu_tune.sh``
says how). Without either the script refuses to run: a result that cannot name its code is
not recorded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from importlib import metadata
from typing import Any

import numpy as np

from bench.common import code_version

# Keras and ``core`` (which imports Keras) are imported where they are used, so that the
# metadata stamp can be tested, and checked on a box, without loading a backend first.


def conv_bn(filters: int) -> list[Any]:
    from keras import layers

    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
    ]


def net(
    widths=(32, 64, 128),
    shift=0.07,
    drops=(0.1, 0.2, 0.3),
    flip=True,
    erase=0.0,
    third_single=False,
) -> Any:
    import keras
    from keras import layers

    from core.models import INPUT_SHAPE

    aug: list[Any] = []
    if flip:
        aug.append(layers.RandomFlip("horizontal"))
    if shift:
        aug.append(layers.RandomTranslation(shift, shift, fill_mode="constant"))
    if erase:
        aug.append(layers.RandomErasing(factor=erase, scale=(0.02, 0.2)))
    a, b, c = widths
    third = conv_bn(c) if third_single else [*conv_bn(c), *conv_bn(c)]
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            *aug,
            *conv_bn(a),
            *conv_bn(a),
            layers.MaxPooling2D(2),
            layers.Dropout(drops[0]),
            *conv_bn(b),
            *conv_bn(b),
            layers.MaxPooling2D(2),
            layers.Dropout(drops[1]),
            *third,
            layers.GlobalAveragePooling2D(),
            layers.Dropout(drops[2]),
            layers.Dense(10, activation="softmax"),
        ]
    )


BASE = dict(
    learning_rate=2e-3, weight_decay=1e-4, cosine_decay=True, warmup_epochs=1.0, label_smoothing=0.1
)
VARIANTS = {
    "A": (lambda: net(), BASE),
    "B_noshift": (lambda: net(shift=0.0), BASE),
    "C_shift04": (lambda: net(shift=0.04), BASE),
    "D_nols": (lambda: net(), {**BASE, "label_smoothing": 0.0}),
    "E_wide": (lambda: net(widths=(48, 96, 192), third_single=True), BASE),
    "F_lowdrop": (lambda: net(drops=(0.0, 0.1, 0.2)), BASE),
    "G_noaug": (lambda: net(shift=0.0, flip=False), BASE),
    "H_lr1e3": (lambda: net(), {**BASE, "learning_rate": 1e-3}),
    "I_wd5e4": (lambda: net(), {**BASE, "weight_decay": 5e-4}),
    "J_wide_noshift": (lambda: net(widths=(48, 96, 192), third_single=True, shift=0.0), BASE),
    "K_flip_erase": (lambda: net(shift=0.0, erase=0.5), BASE),
    "L_wide_shift04": (lambda: net(widths=(48, 96, 192), third_single=True, shift=0.04), BASE),
    "M_wide_noaug": (
        lambda: net(widths=(48, 96, 192), third_single=True, shift=0.0, flip=False),
        BASE,
    ),
    "N_56_noaug": (
        lambda: net(widths=(56, 112, 160), third_single=True, shift=0.0, flip=False),
        BASE,
    ),
    "P_noaug_lr3e3": (lambda: net(shift=0.0, flip=False), {**BASE, "learning_rate": 3e-3}),
    "S_56_lr3e3": (
        lambda: net(widths=(56, 112, 160), third_single=True, shift=0.0, flip=False),
        {**BASE, "learning_rate": 3e-3},
    ),
    "T_ema_lr3e3": (
        lambda: net(shift=0.0, flip=False),
        {**BASE, "learning_rate": 3e-3, "ema_momentum": 0.99},
    ),
    "U_56_flip_lr3e3": (
        lambda: net(widths=(56, 112, 160), third_single=True, shift=0.0),
        {**BASE, "learning_rate": 3e-3},
    ),
    "Z_56_ema_lr3e3": (
        lambda: net(widths=(56, 112, 160), third_single=True, shift=0.0, flip=False),
        {**BASE, "learning_rate": 3e-3, "ema_momentum": 0.99},
    ),
    "R_noaug_nols": (lambda: net(shift=0.0, flip=False), {**BASE, "label_smoothing": 0.0}),
}


def _code() -> dict[str, Any]:
    """This checkout's code version, from git or else from ``$BENCH_CODE``."""
    code = code_version()
    if code.get("commit"):
        return code
    given = os.environ.get("BENCH_CODE")
    if given:
        code = json.loads(given)
        if isinstance(code, dict) and code.get("commit"):
            return {"commit": code["commit"], "diff_sha256": code.get("diff_sha256")}
    raise SystemExit(
        "gpu_tune: no git here and no $BENCH_CODE: set BENCH_CODE to the output of "
        "`uv run python -c 'import json; from bench.common import code_version; "
        "print(json.dumps(code_version()))'` on the machine with the checkout"
    )


def _device(backend: str) -> str:
    """The accelerator the backend computes on (its first device), in its own words."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return "cpu"
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"gpu: {details.get('device_name', gpus[0].name)}"
    if backend == "torch":
        import torch

        return f"gpu: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
    return "unknown"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def run_metadata() -> dict[str, Any]:
    """What every record says about where and with what it ran: device, backend, date, code.

    Raises SystemExit when the code version cannot be established (see the module docstring).
    """
    import keras

    code = _code()
    backend = keras.backend.backend()
    return {
        "device": _device(backend),
        "backend": {
            "name": backend,
            "version": _version(backend),
            "keras": keras.__version__,
        },
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": code["commit"],
        "diff_sha256": code.get("diff_sha256"),
    }


def main() -> None:
    import keras

    from core.data import load_dataset
    from core.evaluation import evaluate_probabilities
    from core.models import Preset, compile_model

    variant, seed, data_dir, epochs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    stamp = run_metadata()  # before training: refuse early when the code version is unknown
    keras.utils.set_random_seed(seed)

    limit = int(os.environ.get("LIMIT", "0")) or None
    ds = load_dataset(data_dir, limit_train=limit, limit_test=limit)
    if variant.startswith("preset="):
        from core.models import get_preset

        preset = get_preset(variant.removeprefix("preset="))
        model = preset.build()
    else:
        build, kwargs = VARIANTS[variant]
        model = build()
        preset = Preset(variant, "", build, **kwargs)
    steps = int(np.ceil(ds.train_samples / batch))
    compile_model(model, preset, steps, epochs)
    one_hot = preset.label_smoothing > 0

    def prep(x, y):
        xf = (x.astype(np.float32) / 255.0)[..., None]
        return xf, (np.eye(10, dtype=np.float32)[y] if one_hot else y.astype(np.int32))

    xt, yt = prep(ds.x_train, ds.y_train)
    xv, yv = prep(ds.x_val, ds.y_val)
    history = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            history.append(
                {k: float(v) for k, v in (logs or {}).items()}
                | {"seconds": time.perf_counter() - self.t}
            )

    model.fit(
        xt,
        yt,
        batch_size=batch,
        epochs=epochs,
        validation_data=(xv, yv),
        shuffle=True,
        verbose=0,
        callbacks=[Timer()],
    )
    probs = model.predict(
        (ds.x_test.astype(np.float32) / 255.0)[..., None], batch_size=1024, verbose=0
    )
    ev = evaluate_probabilities(probs, ds.y_test)
    flipped = (ds.x_test[:, :, ::-1].astype(np.float32) / 255.0)[..., None]
    probs_tta = (probs + model.predict(flipped, batch_size=1024, verbose=0)) / 2
    tta = evaluate_probabilities(probs_tta, ds.y_test).test_accuracy
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    print(
        json.dumps(
            {
                "variant": variant,
                "seed": seed,
                "batch": batch,
                "params": params,
                "test_accuracy": ev.test_accuracy,
                "tta": tta,
                "history": history,
                **stamp,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
