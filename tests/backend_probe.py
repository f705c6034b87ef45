"""Run in a fresh interpreter by ``test_backends.py``: one process has one Keras backend.

``python tests/backend_probe.py BACKEND train ARGS...``: ``fmnist-tui --backend BACKEND
train ARGS...`` in this process, then one JSON line: the exit code and whether TensorFlow
was imported.

``python tests/backend_probe.py BACKEND classify DATA_DIR MODEL_FILE...``: a plain Keras
script (no project code): load each model, classify the raw uint8 test images, print the
accuracies.

``python tests/backend_probe.py BACKEND nan``: train with a learning rate that diverges;
print the failure's kind and message.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import numpy as np


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def first(folder: Path, stem: str) -> Path:
    return next(p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file())


def classify(data_dir: str, *model_files: str) -> dict[str, object]:
    import keras

    folder = Path(data_dir)
    images = read_idx(first(folder, "t10k-images-idx3-ubyte"))
    labels = read_idx(first(folder, "t10k-labels-idx1-ubyte"))
    accuracies = {}
    for model_file in model_files:
        model = keras.models.load_model(model_file)
        predicted = model.predict(images, batch_size=256, verbose=0).argmax(axis=1)
        accuracies[model_file] = float((predicted == labels).mean())
    return {"accuracies": accuracies, "count": len(labels)}


def diverge() -> dict[str, object]:
    import dataclasses
    import threading

    from core import presets
    from core.config import TrainConfig
    from core.data import prepare, synthetic_raw
    from core.events import TrainingFailed
    from core.training import train

    seed = presets.PRESETS["seed"]
    presets.PRESETS["seed"] = dataclasses.replace(
        seed, hyperparameters=dataclasses.replace(seed.hyperparameters, learning_rate=1e10)
    )
    events: list[object] = []
    train(
        TrainConfig(epochs=2),
        events.append,
        threading.Event(),
        dataset=prepare(synthetic_raw(train=200, test=20, seed=0)),
    )
    failed = events[-1]
    assert isinstance(failed, TrainingFailed), events[-1]
    return {"kind": failed.kind, "message": failed.message}


def device_loop() -> dict[str, object]:
    """JAX: the same epochs with the call's batches in one ``lax.scan`` and one by one."""
    import threading

    import keras

    from core import training
    from core.config import TrainConfig
    from core.data import prepare, synthetic_raw

    os.environ["FMNIST_DEVICE_LOOP"] = "on"  # on the CPU too, where it is off by default
    dataset = prepare(synthetic_raw(train=500, test=20, seed=0))
    training.FIRST_STEPS_PER_EXECUTION = 4
    training.steps_per_execution_for = lambda seconds, backend: 4  # type: ignore[assignment]
    results = {}
    for name, loop in (("scan", training.prepare_train_function), ("python", lambda model: None)):
        training.prepare_train_function = loop  # type: ignore[assignment]
        state = training.train(
            TrainConfig(epochs=2), lambda event: None, threading.Event(), dataset=dataset
        )
        results[name] = {
            "history": [m.to_dict() for m in state.history],
            "iterations": int(keras.ops.convert_to_numpy(state.model.optimizer.iterations)),
            "train_function": type(state.model.train_function).__name__,
        }
    return results


def main() -> int:
    backend, command, *args = sys.argv[1:]
    os.environ["KERAS_BACKEND"] = backend
    if command == "train":
        from tui.cli import main as cli_main

        code = cli_main(["--backend", backend, "train", *args])
        result: dict[str, object] = {"code": code}
    elif command == "classify":
        result = classify(*args)
    elif command == "device-loop":
        from core.backend import select_backend

        select_backend(backend)  # type: ignore[arg-type]
        result = device_loop()
    elif command == "nan":
        from core.backend import select_backend

        select_backend(backend)  # type: ignore[arg-type]
        result = diverge()
    else:
        raise SystemExit(f"unknown command {command}")
    import keras

    result["backend"] = keras.backend.backend()
    result["tensorflow_imported"] = "tensorflow" in sys.modules
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
