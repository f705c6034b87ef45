"""One training run end to end: train, evaluate the test set, save the run folder.

This is what both front ends call, from a single thread. It wraps :func:`core.training.train`
so that after every epoch a checkpoint is saved and ``history.json`` rewritten, and, once
training ends (finished or stopped), the test set is evaluated and everything is saved. The run
folder's lock is held throughout, so two processes never train the same run.
"""

from __future__ import annotations

import contextlib
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
    ResumePlan,
    RunError,
    RunLock,
    create_run_dir,
    save_checkpoint,
    save_config,
    save_evaluation,
    save_history,
    write_atomic,
)
from core.training import TrainState, evaluate_model, new_state, restore_state, train


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
    with RunLock(run_dir):
        return _train_locked(config, on_event, stop_event, dataset, state, run_dir)


def resume_training(
    plan: ResumePlan,
    on_event: EventHandler,
    stop_event: threading.Event,
    *,
    dataset: Dataset,
) -> tuple[TrainState, Path]:
    """Resume a run from its newest checkpoint (see :func:`core.runs.plan_resume`).

    The model, its optimizer moments and learning-rate schedule, the history and the early-
    stopping bookkeeping all come from the checkpoint, so the remaining epochs train as they
    would have without the interruption, on the same batches.

    Raises:
        RunError: another process holds the run, or its checkpoint cannot be loaded.
    """
    with RunLock(plan.run_dir):
        state = restore_state(plan.checkpoint, plan.run_dir.name, best=plan.best)
        config = replace(plan.config, epochs=plan.epochs)
        return _train_locked(config, on_event, stop_event, dataset, state, plan.run_dir)


def _train_locked(
    config: TrainConfig,
    on_event: EventHandler,
    stop_event: threading.Event,
    dataset: Dataset,
    state: TrainState,
    run_dir: Path,
) -> tuple[TrainState, Path]:
    planned = state.epochs_done + config.epochs
    if state.epochs_done:
        # Continuing: the saved config records the total number of epochs planned.
        state.config = replace(state.config, epochs=planned)
        save_config(run_dir, state.config)
    context: dict[str, str] = {}
    checkpointed = state.epochs_done

    def record(event: TrainingEvent) -> None:
        nonlocal checkpointed
        if isinstance(event, TrainingStarted):
            context.update(device=event.device, data_source=event.data_source)
        elif isinstance(event, EpochEnded):
            _checkpoint(run_dir, state, planned)
            checkpointed = state.epochs_done
            _save_history(run_dir, state, "running", planned, context)
        elif isinstance(event, TrainingFailed) and checkpointed:
            event = replace(
                event,
                message=f"{event.message}; the epoch {checkpointed} checkpoint is kept "
                "and the run can be resumed",
            )
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
        # The model first, metrics.json last: a run with metrics has its model and its
        # evaluation, so a disk that fills half-way never leaves a run that looks damaged.
        model_file = write_atomic(run_dir / MODEL_FILE, state.model.save)
        files = [*save_evaluation(run_dir, evaluation, dataset.x_test, trainable), model_file]
    except RunError as error:
        with contextlib.suppress(RunError):
            _save_history(run_dir, state, "failed", planned, context)
        on_event(TrainingFailed(state.run_id, str(error), "io"))
        return state, run_dir
    on_event(RunSaved(state.run_id, str(run_dir), tuple(str(f) for f in files)))
    return state, run_dir


def _checkpoint(run_dir: Path, state: TrainState, planned: int) -> None:
    try:
        save_checkpoint(
            run_dir,
            config=state.config,
            history=state.history,
            planned_epochs=planned,
            schedule_end=state.schedule_end,
            write_model=state.model.save,
            best_epoch=state.best_epoch,
            best_val_loss=state.best_val_loss,
            wait=state.wait,
        )
    except RunError as error:
        # Raised inside fit: training stops here rather than run on without a safety net.
        raise RunError(f"{error}; training stopped") from error


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
        early_stopping=state.early_stopping,
    )
