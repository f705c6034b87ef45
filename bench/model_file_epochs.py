"""The child of ``cost-seed-file``: the seed preset and ``examples/seed.py`` trained side by
side in one process, an epoch of one, then of the other, so that whatever else the machine
runs falls on both within the same minute.

``python -m bench.model_file_epochs OUT.json DATA_DIR ROUNDS STEPS [LIMIT_TRAIN]``

Both models are built as a run builds them (``core.training.new_state``: the same seed, the
shared front layers), compiled alike on their first epoch (Adam at 0.001, batch size 32) and
trained by ``core.training.train``, the loop ``fmnist-tui train`` runs, on the same arrays. A
warm-up epoch of each comes first (it traces the train step). Then ROUNDS rounds of two epochs
of each, in the order preset, file, file, preset: a load that rises or falls through a round
falls on both alike. STEPS pins the batches per call into the backend for both. Each epoch's
wall seconds are the training callback's (as ``history.json`` records them); its CPU seconds
are the process's, all threads (``getrusage``), from the start of that epoch's call.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    out, data_dir, rounds_text, steps_text, *limit = argv
    rounds, steps = int(rounds_text), int(steps_text)
    from core.backend import default_backend, select_backend

    select_backend(default_backend())
    import keras

    from bench.model_file import KINDS, MODEL_FILE
    from core import training
    from core.config import TrainConfig
    from core.data import load_dataset_for
    from core.events import EpochEnded, TrainingEvent, TrainingStarted
    from core.model_files import read_model_file

    training.steps_per_execution_for = lambda step_seconds, backend: steps
    base = TrainConfig(data_dir=data_dir, seed=0, limit_train=int(limit[0]) if limit else None)
    configs = {"preset": base.for_model("seed"), "file": base.for_model(str(MODEL_FILE))}
    dataset = load_dataset_for(configs["preset"])
    states = {
        "preset": training.new_state(configs["preset"], "preset"),
        "file": training.new_state(configs["file"], "file", read_model_file(MODEL_FILE)),
    }

    def train_epochs(kind: str, count: int) -> list[dict[str, float]]:
        state = states[kind]
        timed: list[dict[str, float]] = []
        last_cpu = _cpu_seconds()

        def on_event(event: TrainingEvent) -> None:
            nonlocal last_cpu
            if isinstance(event, TrainingStarted):
                last_cpu = _cpu_seconds()
            elif isinstance(event, EpochEnded):
                now = _cpu_seconds()
                timed.append({"seconds": event.metrics.seconds, "cpu_s": now - last_cpu})
                last_cpu = now

        config = configs[kind].with_changes(epochs=state.epochs_done + count)
        training.train(config, on_event, threading.Event(), dataset=dataset, state=state)
        if state.status != "finished" or len(timed) != count:
            raise SystemExit(f"{kind}: training ended {state.status} after {len(timed)} epochs")
        return timed

    started = time.perf_counter()
    warmup = {kind: train_epochs(kind, 1)[0] for kind in KINDS}
    order = [*KINDS, *KINDS[::-1]]
    measured = []
    for _ in range(rounds):
        epochs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
        for kind in order:
            epochs[kind] += train_epochs(kind, 1)
        measured.append({"order": order, "epochs": epochs})
    result: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "steps_per_execution": steps,
        "train_samples": dataset.train_samples,
        "trainable_params": {
            kind: sum(int(keras.ops.size(w)) for w in state.model.trainable_weights)
            for kind, state in states.items()
        },
        "warmup": warmup,
        "rounds": measured,
        "wall_s": time.perf_counter() - started,
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
