"""One training run end to end: train, evaluate the test set, save the run folder.

This is what both front ends call, from a single thread. It wraps :func:`core.training.train`
so that after every epoch a checkpoint is saved and ``history.json`` rewritten, and, once
training ends (finished or stopped), the test set is evaluated and everything is saved. The run
folder's lock is held throughout, so two processes never train the same run.
"""

from __future__ import annotations

import contextlib
import math
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
    TrainingFinished,
    TrainingStarted,
)
from core.models import get_preset, summarize
from core.runs import (
    MODEL_FILE,
    ResumePlan,
    RunError,
    RunLock,
    create_run_dir,
    discard_evaluation,
    latest_checkpoint,
    save_checkpoint,
    save_config,
    save_evaluation,
    save_history,
    write_atomic,
)
from core.training import (
    TrainState,
    detect_device,
    evaluate_model,
    new_state,
    restore_state,
    train,
)


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
        # Planned before the lock was taken: make sure no one trained the run meanwhile.
        latest = latest_checkpoint(plan.run_dir)
        if latest is None or latest.epoch != plan.checkpoint.epoch:
            raise RunError(f"{plan.run_dir.name} changed since it was opened: try again")
        state = restore_state(plan.checkpoint, plan.run_dir.name, best=plan.best)
        if plan.epochs == 0:
            # Every epoch trained, but the run never finished evaluating (killed, or the
            # disk filled): evaluate and save it now.
            state.early_stopping = plan.checkpoint.early_stopping
            if state.early_stopping is not None and state.best_weights is not None:
                state.model.set_weights(state.best_weights)
            state.status = "finished"
            done = state.epochs_done
            context = {"device": detect_device(), "data_source": dataset.source}
            on_event(
                TrainingStarted(
                    run_id=state.run_id,
                    config=plan.config,
                    summary=summarize(state.model),
                    device=context["device"],
                    data_source=dataset.source,
                    train_samples=dataset.train_samples,
                    val_samples=dataset.val_samples,
                    batches_per_epoch=math.ceil(dataset.train_samples / plan.config.batch_size),
                    initial_epoch=done,
                    final_epoch=done,
                    history=tuple(state.history),
                )
            )
            on_event(
                TrainingFinished(
                    state.run_id, tuple(state.history), 0.0, early_stopping=state.early_stopping
                )
            )
            return _finish(state, plan.run_dir, dataset, on_event, done, context)
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
    context: dict[str, str] = {}
    if state.epochs_done:
        _check_schedule(state, planned)
        # Continuing: the saved config records the total number of epochs planned, and the
        # test results of the earlier epochs no longer describe the model.
        state.config = replace(state.config, epochs=planned)
        save_config(run_dir, state.config)
        discard_evaluation(run_dir)
    _save_history(run_dir, state, "running", planned, context)
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
    return _finish(state, run_dir, dataset, on_event, planned, context)


def _finish(
    state: TrainState,
    run_dir: Path,
    dataset: Dataset,
    on_event: EventHandler,
    planned: int,
    context: dict[str, str],
) -> tuple[TrainState, Path]:
    """Record how training ended; evaluate and save the model unless it failed."""
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


def _check_schedule(state: TrainState, planned: int) -> None:
    """Refuse to run past the end of a cosine schedule that has epochs left: the optimizer
    would start a new schedule (from the warm-up) half-way through the planned one."""
    done, end = state.epochs_done, state.schedule_end
    if get_preset(state.config.model).cosine_decay and done < end < planned:
        raise RunError(
            f"{state.config.model} follows a learning-rate schedule that ends at epoch {end}: "
            f"train {end - done} more epoch{'s' if end - done != 1 else ''} to finish it "
            "first; training on after that starts a new schedule"
        )


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
            stopped_epoch=None if state.early_stopping is None else state.epochs_done,
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
