"""One run's life, written once: plan, load the data, train, checkpoint, evaluate and save.

Both front ends drive a :class:`RunSession`: the headless ``fmnist-tui train`` for one run, the
app's engine thread for as many as the user starts. A front end only *plans* a request (which
needs no TensorFlow and fails fast with a one-line reason), *runs* the plan, and presents the
events it hears. Everything else about a run lives here: which data a run trains on (and when
that data can be reused), what a run folder holds and in what order its files are written,
when a run can be resumed, and how a run is cancelled.

Cancelling is cooperative. :class:`Signals` holds two flags that core checks at every batch
end: *stop* ends training, and what was learned is still evaluated and saved; *abort* (the app
quits) ends training as soon as possible and skips the evaluation, leaving a run that says it
was stopped and resumes from its newest checkpoint. Nothing is thrown into core from outside.

Everything runs in the calling thread: TensorFlow is not thread-safe, so one thread builds,
trains, evaluates and saves. TensorFlow itself is imported only when a plan is run.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.config import MAX_EPOCHS, TrainConfig
from core.data import Dataset, DatasetKey, dataset_key, load_dataset_for
from core.errors import RunError, TensorBoardError
from core.events import (
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    EventHandler,
    RunSaved,
    RunWarning,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
)
from core.files import first_line
from core.history_csv import write_history_csv
from core.model_files import (
    SOURCE_COPY,
    ModelFileError,
    ModelSource,
    custom_objects,
    read_model_file,
    run_copy,
)
from core.requests import ContinueRun, HeldModel, NewRun, ResumeRun, RunRequest
from core.runs.checkpoints import latest_checkpoint, save_checkpoint
from core.runs.layout import (
    MODEL_FILE,
    create_run_dir,
    discard_evaluation,
    save_config,
    save_evaluation,
    save_history,
    write_atomic,
)
from core.runs.lock import RunLock
from core.runs.resume import ResumePlan, plan_resume
from core.tensorboard_log import TensorBoardRecorder

if TYPE_CHECKING:
    from core.evaluation import Evaluation
    from core.training import TrainState

DataLoader = Callable[[TrainConfig], Dataset]


# --- Plans ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class RunPlan:
    """What running a request will do, worked out without TensorFlow."""

    request: RunRequest
    config: TrainConfig
    """The run's settings; ``epochs`` is how many it will have in all (:attr:`final_epoch`)."""
    run_dir: Path | None
    """The run folder; ``None`` for a new run, whose folder is made when it starts."""
    initial_epoch: int
    """Epochs the run already has."""
    resume: ResumePlan | None = None
    source: ModelSource | None = None
    """The model file a new run builds its model from, read when planned."""

    @property
    def final_epoch(self) -> int:
        return self.config.epochs

    @property
    def epochs_to_train(self) -> int:
        return self.final_epoch - self.initial_epoch

    @property
    def evaluate_only(self) -> bool:
        """Every epoch is trained, but the run was never evaluated (killed at the very end)."""
        return self.resume is not None and self.resume.epochs == 0

    def describe(self) -> str:
        """One line saying what will happen, for a log or a terminal."""
        if isinstance(self.request, ResumeRun) and self.run_dir is not None:
            name = self.run_dir.name
            if self.evaluate_only:
                return (
                    f"finishing {name}: its {self.initial_epoch} epochs are trained but were "
                    "never evaluated"
                )
            return f"resuming {name} after epoch {self.initial_epoch}, to epoch {self.final_epoch}"
        if isinstance(self.request, ContinueRun) and self.run_dir is not None:
            return (
                f"continuing {self.run_dir.name} after epoch {self.initial_epoch}, "
                f"to epoch {self.final_epoch}"
            )
        epochs = self.epochs_to_train
        return f"training {self.config.model} for {epochs} epoch{'s' if epochs != 1 else ''}"


class Signals:
    """The flags core checks at every batch end; set them from any thread."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        """End training after the current batch; evaluate and save what was learned."""
        self.abort = threading.Event()
        """End training as soon as possible and skip the evaluation (the program quits)."""
        self.prune = threading.Event()
        """End training after the current batch because a sweep's pruner said so: the run
        is recorded as pruned and not evaluated (its checkpoints stay, so it can resume)."""

    def request_stop(self) -> None:
        self.stop.set()

    def request_prune(self) -> None:
        self.prune.set()
        self.stop.set()

    @property
    def pruned(self) -> bool:
        return self.prune.is_set()

    def request_abort(self) -> None:
        self.abort.set()
        self.stop.set()

    @property
    def aborted(self) -> bool:
        return self.abort.is_set()


Outcome = Literal["finished", "stopped", "pruned", "aborted", "failed"]


@dataclass(frozen=True, slots=True, eq=False)
class RunResult:
    """How a run ended: its folder, what it learned, and whether it was saved."""

    run_id: str
    run_dir: Path | None
    outcome: Outcome
    history: tuple[EpochMetrics, ...]
    early_stopping: dict[str, int] | None = None
    evaluation: Evaluation | None = None
    failure: TrainingFailed | None = None
    saved: bool = False
    """The model, its evaluation and metrics are in the run folder."""


# --- The session -------------------------------------------------------------------------


class RunSession:
    """Plans and runs training runs for one front end, in one thread.

    It keeps the data set it loaded last (a run with the same data settings reuses it) and
    the model it trained last (for :class:`ContinueRun`).
    """

    def __init__(
        self,
        runs_root: Path,
        *,
        signals: Signals | None = None,
        load_data: DataLoader = load_dataset_for,
        release_model: Callable[[], object] = gc.collect,
    ) -> None:
        """
        Args:
            runs_root: where new run folders are made.
            signals: the stop and abort flags; a front end sets them from any thread.
            load_data: loads the arrays for a run's data settings (tests pass small ones).
            release_model: frees a model that was let go (Keras models are full of
                reference cycles); a front end that freezes objects out of the collector's
                sight passes what unfreezes them.
        """
        self.runs_root = runs_root
        self.signals = signals or Signals()
        self._load_data = load_data
        self._release_model = release_model
        self._dataset: tuple[DatasetKey, Dataset] | None = None
        self._state: TrainState | None = None
        self._run_dir: Path | None = None
        self._run_dataset: Dataset | None = None

    # --- Data ----------------------------------------------------------------------------

    def dataset_for(self, config: TrainConfig) -> Dataset:
        """The arrays a run with ``config`` trains on, loaded once per set of data settings.

        Raises:
            DataError: the data cannot be found or read.
        """
        key = dataset_key(config)
        if self._dataset is None or self._dataset[0] != key:
            self._dataset = None  # let the old arrays go before the new ones load
            self._dataset = (key, self._load_data(config))
        return self._dataset[1]

    # --- The model in memory -------------------------------------------------------------

    @property
    def state(self) -> TrainState | None:
        """The held model's training state (Keras objects: use it in this session's thread)."""
        return self._state

    @property
    def held(self) -> HeldModel | None:
        """The model :class:`ContinueRun` would train further: one with a finished epoch."""
        state, run_dir = self._state, self._run_dir
        if state is None or run_dir is None or not state.epochs_done:
            return None
        return HeldModel(state.run_id, run_dir, state.config.model, state.epochs_done)

    @property
    def run_dataset(self) -> Dataset | None:
        """The data set the held model (:attr:`state`) was trained on."""
        return self._run_dataset

    def drop_model(self) -> bool:
        """Let the model in memory go; whether there was one."""
        had_model = self._state is not None
        self._state = self._run_dir = self._run_dataset = None
        return had_model

    # --- Planning ------------------------------------------------------------------------

    def plan(self, request: RunRequest) -> RunPlan:
        """Work out what ``request`` will do, without TensorFlow.

        Raises:
            RunError: it cannot run: the run cannot be resumed (the reason says why), there is
                no model to continue, or the run would pass the most epochs a run can have.
        """
        if isinstance(request, NewRun):
            config = request.config
            source = None
            if config.model_file is not None:
                try:
                    source = read_model_file(config.model_file)
                except ModelFileError as error:
                    raise RunError(str(error)) from None
                config = config.with_changes(model=source.name, model_sha256=source.sha256)
            # The run records the training settings it used, whatever they default to later.
            config = config.with_changes(hyperparameters=config.training)
            return RunPlan(NewRun(config), config, None, 0, source=source)
        if isinstance(request, ContinueRun):
            held = self.held
            if held is None or self._state is None:
                raise RunError("there is no trained model to continue: start a new run")
            final = held.epochs_done + request.epochs
            if final > MAX_EPOCHS:
                raise RunError(
                    f"{held.run_dir.name} would reach {final} epochs; "
                    f"the most a run can have is {MAX_EPOCHS}"
                )
            config = self._state.config.with_changes(epochs=final)
            if request.batch_size is not None:
                config = config.with_changes(batch_size=request.batch_size)
            return RunPlan(request, config, held.run_dir, held.epochs_done)
        resume = plan_resume(request.run_dir, request.epochs)
        config = resume.config.with_changes(epochs=resume.final_epoch)
        if request.data_dir is not None:
            config = config.with_changes(data_dir=request.data_dir)
        return RunPlan(request, config, request.run_dir, resume.checkpoint.epoch, resume)

    # --- Running -------------------------------------------------------------------------

    def run(self, plan: RunPlan, on_event: EventHandler) -> RunResult:
        """Train as planned, checkpointing every epoch, then evaluate and save.

        Problems during training (a non-finite loss, out of memory, a full disk) arrive as a
        :class:`TrainingFailed` event and in the result; the run folder keeps its newest
        checkpoint.

        Raises:
            DataError: the run's data cannot be loaded (nothing was written).
            RunError: the run folder cannot be made or locked, another process trains the
                run, or its checkpoint cannot be loaded (nothing was trained).
        """
        self.signals.stop.clear()
        self.signals.prune.clear()
        if isinstance(plan.request, ContinueRun):
            state, run_dir, dataset = self._state, self._run_dir, self._run_dataset
            if state is None or run_dir is None or dataset is None:
                raise RunError("there is no trained model to continue: start a new run")
            with RunLock(run_dir):
                return self._train(plan.config, state, run_dir, dataset, on_event)
        dataset = self.dataset_for(plan.config)
        if self.drop_model():
            self._release_model()
        if plan.resume is not None:
            return self._resume(plan, plan.resume, dataset, on_event)
        from core.training import new_state

        # Built before the run folder is made: a model file that fails leaves no run behind.
        state = new_state(plan.config, "", plan.source)
        run_dir = create_run_dir(self.runs_root, plan.config)
        state.run_id = run_dir.name
        if plan.source is not None:
            _save_model_source(run_dir, plan.source)
        with RunLock(run_dir):
            return self._train(plan.config, state, run_dir, dataset, on_event)

    def _resume(
        self, plan: RunPlan, resume: ResumePlan, dataset: Dataset, on_event: EventHandler
    ) -> RunResult:
        from core.training import restore_state

        with RunLock(resume.run_dir):
            # Planned before the lock was taken: make sure no one trained the run meanwhile.
            latest = latest_checkpoint(resume.run_dir)
            if latest is None or latest.epoch != resume.checkpoint.epoch:
                raise RunError(f"{resume.run_dir.name} changed since it was opened: try again")
            objects = None
            if resume.config.model_file is not None:
                objects = custom_objects(_run_source(resume.run_dir, resume.config))
            state = restore_state(
                resume.checkpoint, resume.run_dir.name, best=resume.best, custom_objects=objects
            )
            if plan.config.data_dir != state.config.data_dir:
                state.config = state.config.with_changes(data_dir=plan.config.data_dir)
            if resume.epochs == 0:
                return self._evaluate_only(state, resume, dataset, on_event)
            return self._train(plan.config, state, resume.run_dir, dataset, on_event)

    def _evaluate_only(
        self, state: TrainState, resume: ResumePlan, dataset: Dataset, on_event: EventHandler
    ) -> RunResult:
        """Every epoch trained, but the run never finished evaluating (killed, or the disk
        filled): evaluate and save it now."""
        from core.backend import device_line
        from core.models import summarize

        state.early_stopping = resume.checkpoint.early_stopping
        if state.early_stopping is not None and state.best_weights is not None:
            state.model.set_weights(state.best_weights)
        state.status = "finished"
        done = state.epochs_done
        record = _Recorder(resume.run_dir, state, done, on_event)
        on_event = record.event
        record.context.update(device=device_line(), data_source=dataset.source)
        on_event(
            TrainingStarted(
                run_id=state.run_id,
                config=resume.config,
                summary=summarize(state.model),
                device=record.context["device"],
                data_source=dataset.source,
                train_samples=dataset.train_samples,
                val_samples=dataset.val_samples,
                batches_per_epoch=math.ceil(dataset.train_samples / resume.config.batch_size),
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
        try:
            return self._finish(state, resume.run_dir, dataset, record, on_event)
        finally:
            record.close()

    def _train(
        self,
        config: TrainConfig,
        state: TrainState,
        run_dir: Path,
        dataset: Dataset,
        on_event: EventHandler,
    ) -> RunResult:
        from core.training import train

        planned = config.epochs
        if state.epochs_done:
            _check_schedule(state, planned)
            # Training further: the saved config records the total number of epochs planned,
            # and the test results of the earlier epochs no longer describe the model.
            state.config = replace(state.config, epochs=planned)
            save_config(run_dir, state.config)
            discard_evaluation(run_dir)
        record = _Recorder(run_dir, state, planned, on_event)
        try:
            record.history("running")
            state = train(
                config,
                record.event,
                self.signals.stop,
                dataset=dataset,
                state=state,
                run_id=state.run_id,
            )
            self._state, self._run_dir, self._run_dataset = state, run_dir, dataset
            return self._finish(state, run_dir, dataset, record, record.event)
        finally:
            record.close()

    def _finish(
        self,
        state: TrainState,
        run_dir: Path,
        dataset: Dataset,
        record: _Recorder,
        on_event: EventHandler,
    ) -> RunResult:
        """Record how training ended; evaluate and save the model unless it failed or the
        session is aborting."""
        from core.explain import mistake_maps
        from core.training import evaluate_model

        outcome: Outcome = state.status if state.status != "running" else "failed"
        result = RunResult(
            run_id=state.run_id,
            run_dir=run_dir,
            outcome=outcome,
            history=tuple(state.history),
            early_stopping=state.early_stopping,
            failure=record.failure,
        )
        try:
            if self.signals.pruned and state.status == "stopped":
                # A sweep's pruner ended it: its validation curve is what the sweep wanted;
                # the test set is for the runs a sweep keeps.
                record.history("pruned")
                return replace(result, outcome="pruned")
            record.history(state.status)
            if self.signals.aborted and state.status == "stopped":
                # Quitting: evaluating 10,000 test images would hold the exit for seconds.
                # The run resumes from its newest checkpoint.
                return replace(result, outcome="aborted")
            # A failed model is not worth evaluating: after a non-finite loss its weights are
            # NaN, and after running out of memory evaluating would likely fail the same way.
            # A model stopped before its first epoch ended has still learned from the batches
            # it saw: it is evaluated and saved like any other (it has no checkpoint to resume).
            if state.status == "failed":
                return result
            evaluation = evaluate_model(state.model, dataset)
            on_event(EvaluationFinished(state.run_id, evaluation, dataset.x_test))
            # The export draws the grid's explanations without the model: they are made now,
            # while it is in memory (the seed's 25 take about a second on a 2-core CPU).
            try:
                maps = mistake_maps(
                    state.model, dataset.x_test, evaluation, cancelled=self.signals.abort.is_set
                )
            except Exception as error:  # noqa: BLE001 - a picture's overlay must not cost the run
                maps = None
                on_event(
                    RunWarning(
                        state.run_id,
                        f"the grid's explanations could not be made ({first_line(error)}); "
                        "the export draws it without them",
                    )
                )
            trainable = sum(int(math.prod(w.shape)) for w in state.model.trainable_weights)
            # The model first, metrics.json last: a run with metrics has its model and its
            # evaluation, so a disk that fills half-way never leaves a run that looks damaged.
            model_file = write_atomic(run_dir / MODEL_FILE, state.model.save)
            files = [
                *save_evaluation(run_dir, evaluation, dataset.x_test, trainable, maps),
                model_file,
            ]
        except RunError as error:
            with contextlib.suppress(RunError):
                record.history("failed")
            failure = TrainingFailed(state.run_id, str(error), "io")
            record.failure = failure
            record.on_event(failure)
            return replace(result, outcome="failed", failure=failure)
        on_event(RunSaved(state.run_id, str(run_dir), tuple(str(f) for f in files)))
        return replace(result, evaluation=evaluation, saved=True)


class _Recorder:
    """Writes a run's files as its events arrive, then passes each event on.

    After every epoch: the checkpoint first (``history.json`` never runs ahead of what can be
    resumed), then ``history.json``, ``history.csv`` and the TensorBoard event files. The
    TensorBoard files are a view: failing to write them is a warning, never a failed run.
    """

    def __init__(
        self, run_dir: Path, state: TrainState, planned: int, on_event: EventHandler
    ) -> None:
        self.run_dir = run_dir
        self.state = state
        self.planned = planned
        self.on_event = on_event
        self.context: dict[str, str] = {}
        self.checkpointed = state.epochs_done
        self.failure: TrainingFailed | None = None
        self.tensorboard: TensorBoardRecorder | None = TensorBoardRecorder(run_dir)

    def event(self, event: TrainingEvent) -> None:
        """Save what ``event`` completes, then pass it on (a failure names what is kept)."""
        if isinstance(event, TrainingStarted):
            self.context.update(device=event.device, data_source=event.data_source)
        elif isinstance(event, EpochEnded):
            self.checkpoint()
            self.history("running")
        elif isinstance(event, TrainingFailed):
            if self.checkpointed:
                event = replace(
                    event,
                    message=f"{event.message}; the epoch {self.checkpointed} checkpoint is "
                    "kept and the run can be resumed",
                )
            self.failure = event
        self._tensorboard(event)
        self.on_event(event)

    def _tensorboard(self, event: TrainingEvent) -> None:
        if self.tensorboard is None:
            return
        try:
            self.tensorboard(event)
        except TensorBoardError as error:
            # The recorder has closed its files and ignores what follows.
            self.tensorboard = None
            self.on_event(RunWarning(self.state.run_id, f"{error}; training goes on"))

    def close(self) -> None:
        if self.tensorboard is not None:
            with contextlib.suppress(TensorBoardError):
                self.tensorboard.close()
            self.tensorboard = None

    def checkpoint(self) -> None:
        state = self.state
        try:
            save_checkpoint(
                self.run_dir,
                config=state.config,
                history=state.history,
                planned_epochs=self.planned,
                schedule_end=state.schedule_end,
                write_model=state.model.save,
                best_epoch=state.best_epoch,
                best_val_loss=state.best_val_loss,
                wait=state.wait,
                stopped_epoch=None if state.early_stopping is None else state.epochs_done,
            )
        except RunError as error:
            # Raised inside fit, where core's training loop turns it into a failure: training
            # stops here rather than run on without a safety net.
            raise RunError(f"{error}; training stopped") from error
        self.checkpointed = state.epochs_done

    def history(self, status: str) -> None:
        save_history(
            self.run_dir,
            self.state.history,
            status=status,
            planned_epochs=self.planned,
            device=self.context.get("device"),
            data_source=self.context.get("data_source"),
            early_stopping=self.state.early_stopping,
        )
        write_history_csv(self.run_dir, self.state.history)


def _save_model_source(run_dir: Path, source: ModelSource) -> None:
    """Keep a copy of the model file in the run folder: resuming builds from it, whatever
    becomes of the original."""

    def write(tmp: Path) -> None:
        tmp.write_text(source.text, encoding="utf-8")

    write_atomic(run_dir / SOURCE_COPY, write)


def _run_source(run_dir: Path, config: TrainConfig) -> ModelSource:
    try:
        return run_copy(run_dir, config.model_sha256 or "")
    except ModelFileError as error:
        raise RunError(str(error)) from None


def _check_schedule(state: TrainState, planned: int) -> None:
    """Refuse to run past the end of a cosine schedule that has epochs left: the optimizer
    would start a new schedule (from the warm-up) half-way through the planned one."""
    done, end = state.epochs_done, state.schedule_end
    if state.config.training.cosine and done < end < planned:
        raise RunError(
            f"{state.config.model} follows a learning-rate schedule that ends at epoch {end}: "
            f"train {end - done} more epoch{'s' if end - done != 1 else ''} to finish it "
            "first; training on after that starts a new schedule"
        )
