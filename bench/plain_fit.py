"""Mode (a) of the overhead benchmark: the same model trained by a bare ``keras.Model.fit``.

What someone would write without the app: load the arrays, scale them to float32 (28, 28, 1)
arrays in 0-1, build and compile the same preset (the same layers after our preprocessing
layers, optimizer, schedule and loss, through ``core.models``), ``fit`` once for all epochs
with ``verbose=0``, Keras' own shuffling every epoch, one batch per call into the backend
(Keras' default ``steps_per_execution=1``), ``jit_compile="auto"`` (Keras' default, as ours),
validation at ``max(batch_size, 256)`` (as ``fmnist-tui train`` validates) and a callback that
only times epochs, then evaluate the test set. No events, no run folder, no threads.

``python -m bench.plain_fit --model seed --epochs 2 --data-dir DIR --out FILE
[--limit-train N] [--backend tensorflow|jax|torch]``
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_fit")
    parser.add_argument("--model", default="seed")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--limit-train", type=int)
    parser.add_argument("--limit-test", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--backend", default=None)
    args = parser.parse_args(argv)

    from core.backend import default_backend, select_backend
    from core.logs import quiet_tensorflow_env

    quiet_tensorflow_env()
    select_backend(args.backend or default_backend())
    from core.data import load_dataset

    dataset = load_dataset(
        args.data_dir,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        seed=args.seed,
    )

    import keras
    import numpy as np

    from core.backend import active_backend, seed_everything
    from core.models import (
        INPUT_SHAPE,
        PREPROCESSING_LAYERS,
        build_model,
        compile_model,
        get_preset,
    )

    preset = get_preset(args.model)
    seed_everything(args.seed)
    # The preset's layers after its preprocessing (scaling and the channel axis): a plain
    # script scales the arrays itself, as the seed notebook did.
    ours = build_model(args.model)
    model = keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE), *ours.layers[PREPROCESSING_LAYERS:]], name=ours.name
    )
    steps = math.ceil(dataset.train_samples / args.batch_size)
    compile_model(model, preset, steps, args.epochs)
    one_hot = preset.label_smoothing > 0

    def arrays(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = (images.astype(np.float32) / 255.0)[..., np.newaxis]
        y = np.eye(10, dtype=np.float32)[labels] if one_hot else labels.astype(np.int32)
        return x, y

    x_train, y_train = arrays(dataset.x_train, dataset.y_train)
    x_val, y_val = arrays(dataset.x_val, dataset.y_val)
    x_test, y_test = arrays(dataset.x_test, dataset.y_test)
    epochs: list[dict[str, Any]] = []

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        """From epoch begin to epoch end (validation included), as core's callback times it."""

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            seconds = time.perf_counter() - self.started
            epochs.append(
                {
                    "epoch": epoch + 1,
                    **{k: float(v) for k, v in (logs or {}).items()},
                    "seconds": seconds,
                }
            )

    fit_started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        validation_batch_size=max(args.batch_size, 256),
        shuffle=True,
        verbose=0,
        callbacks=[EpochTimer()],
    )
    fit_seconds = time.perf_counter() - fit_started
    _, test_accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    result = {
        "epochs": epochs,
        "fit_wall_s": fit_seconds,
        "test_accuracy": float(test_accuracy),
        "train_samples": dataset.train_samples,
        "backend": active_backend(),
        "max_rss_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
