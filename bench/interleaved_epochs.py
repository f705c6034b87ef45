"""Two models' epochs timed side by side in one process, through the loop ``fmnist-tui train``
runs (``core.training.train``), an epoch of one, then of the other, so that whatever else the
shared machine runs falls on both within the same minutes.

``python -m bench.interleaved_epochs SPEC.json OUT.json``

SPEC names two sides, each a preset or a model file with its batch size and training settings
(``core.hyperparameters.Hyperparameters`` fields; missing ones are the model's own), and::

    {"sides": [{"name": "A", "model": "improved", "batch_size": 128, "training": {}}, ...],
     "data_dir": "...", "rounds": 4, "order": "alternate", "planned_epochs": 15,
     "limit_train": null, "seed": 0, "steps_per_execution": null}

Each model is built as a run builds it (``core.training.new_state``: the seed, the shared front
layers), compiled by ``core.models.compile_model`` for a run of ``planned_epochs`` (as a fresh
run of that length is, so its schedule is not restarted between the measured epochs) and
trained on the same arrays. A warm-up epoch of each comes first (it traces the train step, at
``train``'s first-epoch batches per call); then each side keeps the batches per call ``train``
picks from the step time of its warm-up (or ``steps_per_execution`` for both), and a settling
epoch of each retraces for them (as a run's 2nd epoch does), so no measured epoch retraces.
``order``: ``alternate`` runs A B, B A, A B, ... (one epoch of each a round); ``abba`` runs
A B B A every round (two of each). Each epoch's wall seconds are the training
callback's (as ``history.json`` records them, validation included); its CPU seconds are the
process's, all threads (``getrusage``), from the start of the call that trained it.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def orders(order: str, names: list[str], rounds: int) -> list[list[str]]:
    """The sides each round trains, in turn: ``alternate`` A B, B A, ...; ``abba`` A B B A."""
    if order == "abba":
        return [[*names, *names[::-1]] for _ in range(rounds)]
    if order == "alternate":
        return [names if r % 2 == 0 else names[::-1] for r in range(rounds)]
    raise ValueError(f"unknown order {order!r}: alternate or abba")


def main(argv: list[str]) -> int:
    spec_path, out = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    from core.backend import default_backend, select_backend

    select_backend(default_backend())
    import keras

    from core import training
    from core.config import TrainConfig
    from core.data import load_dataset_for
    from core.events import EpochEnded, TrainingEvent, TrainingStarted
    from core.model_files import looks_like_a_file, read_model_file
    from core.models import compile_model

    sides = {side["name"]: side for side in spec["sides"]}
    names = list(sides)
    planned = int(spec.get("planned_epochs") or 15)
    if planned < 2 + int(spec["rounds"]):
        raise SystemExit(f"{spec['rounds']} rounds need a run of at least {2 + spec['rounds']}")
    base = TrainConfig(
        data_dir=spec["data_dir"],
        seed=int(spec.get("seed", 0)),
        limit_train=spec.get("limit_train"),
    )
    configs: dict[str, TrainConfig] = {}
    states: dict[str, training.TrainState] = {}
    for name, side in sides.items():
        config = base.for_model(side["model"]).with_changes(batch_size=int(side["batch_size"]))
        if side.get("training"):
            config = config.with_training(**side["training"])
        configs[name] = config
    dataset = load_dataset_for(configs[names[0]])
    for name, config in configs.items():
        model = sides[name]["model"]
        source = read_model_file(model) if looks_like_a_file(model) else None
        state = training.new_state(config, name, source)
        batches = math.ceil(dataset.train_samples / config.batch_size)
        compile_model(state.model, config.training, batches, planned)
        state.schedule_end = planned
        states[name] = state

    rule = training.steps_per_execution_for
    pinned: dict[str, int | None] = {"steps": None}
    training.steps_per_execution_for = lambda seconds, backend: (  # type: ignore[assignment]
        pinned["steps"] if pinned["steps"] is not None else rule(seconds, backend)
    )
    steps: dict[str, int] = {}

    def train_epoch(name: str) -> dict[str, float]:
        state = states[name]
        timed: list[dict[str, float]] = []
        last_cpu = cpu_seconds()

        def on_event(event: TrainingEvent) -> None:
            nonlocal last_cpu
            if isinstance(event, TrainingStarted):
                last_cpu = cpu_seconds()
            elif isinstance(event, EpochEnded):
                now = cpu_seconds()
                timed.append(
                    {
                        "seconds": event.metrics.seconds,
                        "cpu_s": now - last_cpu,
                        "val_accuracy": event.metrics.val_accuracy,
                    }
                )
                last_cpu = now

        pinned["steps"] = steps.get(name)
        config = configs[name].with_changes(epochs=state.epochs_done + 1)
        training.train(config, on_event, threading.Event(), dataset=dataset, state=state)
        if state.status != "finished" or len(timed) != 1:
            raise SystemExit(f"{name}: training ended {state.status} after {len(timed)} epochs")
        return {**timed[0], "steps_per_execution": int(state.model.steps_per_execution)}

    backend = keras.backend.backend()
    started = time.perf_counter()
    warmup = {}
    for name in names:
        warmup[name] = train_epoch(name)
        steps[name] = int(
            spec.get("steps_per_execution") or rule(states[name].step_seconds, backend)
        )
    # The first epoch at the new batches per call retraces, as a run's 2nd epoch does.
    settle = {name: train_epoch(name) for name in names}
    measured = []
    for turn in orders(str(spec.get("order", "alternate")), names, int(spec["rounds"])):
        epochs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for name in turn:
            epochs[name].append(train_epoch(name))
        measured.append({"order": turn, "epochs": epochs})
    result: dict[str, Any] = {
        "backend": backend,
        "planned_epochs": planned,
        "steps_per_execution": steps,
        "train_samples": dataset.train_samples,
        "batches_per_epoch": {
            name: math.ceil(dataset.train_samples / configs[name].batch_size) for name in names
        },
        "trainable_params": {
            name: sum(int(keras.ops.size(w)) for w in state.model.trainable_weights)
            for name, state in states.items()
        },
        "training": {name: asdict(configs[name].training) for name in names},
        "warmup": warmup,
        "settle": settle,
        "rounds": measured,
        "wall_s": time.perf_counter() - started,
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
