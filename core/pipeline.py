"""One training run end to end: train, evaluate the test set, save the run folder.

This is what both front ends call, from a single thread. It wraps :func:`core.training.train`
so that ``history.json`` is rewritten after every epoch and, once training ends (finished or
stopped), the test set is evaluated and everything is saved.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from core.config import TrainConfig
from core.data import Dataset
from core.events import (
    EpochEnded,
    EvaluationFinished,
    EventHandler,
    RunSaved,
    TrainingEvent,
    TrainingFailed,
    TrainingStarted,
)
from core.runs import (
    MODEL_FILE,
    RunError,
    create_run_dir,
    save_config,
    save_evaluation,
    save_history,
    write_atomic,
)
from core.training import TrainState, evaluate_model, new_state, train


def run_training(
    config: TrainConfig,
    on_event: EventHandler,
    stop_event: threading.Event,
    *,
    dataset: Dataset,
    runs_root: Path,
    state: TrainState | None = None,
    run_dir: Path | None = None,
) -> tuple[TrainState, Path]:
    """Train (or continue ``state`` in ``run_dir`` for ``config.epochs`` more), then evaluate
    and save. Returns the state and its run folder; problems arrive as events.

    Raises:
        RunError: the run folder cannot be created (before any training starts).
    """
    if state is None or run_dir is None:
        run_dir = create_run_dir(runs_root, config)
        state = new_state(config, run_dir.name)
    else:
        # Continuing: the saved config records the total number of epochs planned.
        total = replace(state.config, epochs=state.epochs_done + config.epochs)
        state.config = total
        save_config(run_dir, total)
    planned = state.epochs_done + config.epochs
    context: dict[str, str] = {}
    live_state, live_dir = state, run_dir

    def record(event: TrainingEvent) -> None:
        if isinstance(event, TrainingStarted):
            context.update(device=event.device, data_source=event.data_source)
        elif isinstance(event, EpochEnded):
            _save_history(live_dir, live_state, "running", planned, context)
        on_event(event)

    state = train(config, record, stop_event, dataset=dataset, state=state, run_id=state.run_id)
    try:
        _save_history(run_dir, state, state.status, planned, context)
        # A failed model is not worth evaluating: after a non-finite loss its weights are
        # NaN, and after running out of memory evaluating would likely fail the same way.
        if not state.history or state.status == "failed":
            return state, run_dir
        evaluation = evaluate_model(state.model, dataset)
        on_event(EvaluationFinished(state.run_id, evaluation, dataset.x_test))
        trainable = sum(int(w.numpy().size) for w in state.model.trainable_weights)
        files = save_evaluation(run_dir, evaluation, dataset.x_test, trainable)
        files.append(write_atomic(run_dir / MODEL_FILE, state.model.save))
    except RunError as error:
        on_event(TrainingFailed(state.run_id, str(error), "io"))
        return state, run_dir
    on_event(RunSaved(state.run_id, str(run_dir), tuple(str(f) for f in files)))
    return state, run_dir


def _save_history(
    run_dir: Path,
    state: TrainState,
    status: str,
    planned: int,
    context: dict[str, str],
) -> None:
    save_history(
        run_dir,
        state.history,
        status=status,
        planned_epochs=planned,
        device=context.get("device"),
        data_source=context.get("data_source"),
    )
