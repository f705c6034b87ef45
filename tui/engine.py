"""The worker side of the app: one long-lived thread that owns TensorFlow.

TensorFlow is not thread-safe, so the model is built, trained, evaluated and summarised in
this one thread for the app's whole life; that is also what makes "continue the same model
for N more epochs" safe. The app talks to the engine through a queue of commands and hears
back only through posted messages (``post``), never by calling into widgets.

Importing this module is cheap: TensorFlow, Keras and the data loading are imported inside
:meth:`TrainingEngine.serve`, after the app has drawn its first frame.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from core.config import TrainConfig
from core.events import (
    BatchProgress,
    EpochEnded,
    EventHandler,
    TrainingEvent,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.files import one_line
from tui.messages import (
    DataFailed,
    DataReady,
    EngineError,
    EngineEvent,
    EngineIdle,
    EngineReady,
    EngineStatus,
    SummaryReady,
)

if TYPE_CHECKING:
    from core.data import Dataset
    from core.training import TrainState

Post = Callable[[Message], object]
"""How the engine reaches the app: ``App.post_message`` (thread-safe)."""
DatasetLoader = Callable[[], "Dataset"]

LOADING_TENSORFLOW = "Loading TensorFlow…"
LOADING_DATA = "Loading data…"


@dataclass(frozen=True, slots=True)
class Train:
    """Start a new run with a freshly built model."""

    config: TrainConfig


@dataclass(frozen=True, slots=True)
class Continue:
    """Train the model from the last run for ``epochs`` more epochs, in the same run folder."""

    epochs: int
    batch_size: int


@dataclass(frozen=True, slots=True)
class Resume:
    """Resume a saved run from its newest checkpoint: to its planned epochs, or ``epochs``
    more when given."""

    run_dir: Path
    epochs: int | None = None


@dataclass(frozen=True, slots=True)
class Summarize:
    """Build ``preset`` untrained and post its layer table."""

    preset: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    """End the engine's loop."""


Command = Train | Continue | Resume | Summarize | Shutdown


class _ShutdownDuringRun(Exception):
    """Raised from the event callback to skip the test-set evaluation when the app quits."""


class Engine:
    """The command queue and stop flags, shared by the real engine and test doubles.

    :meth:`run` is the body of the app's thread worker; everything else is called from the
    UI thread.
    """

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        """Set to stop training at the end of the current batch."""
        self.finished = threading.Event()
        """Set once :meth:`run` has returned, so callers can wait for the thread to end."""
        self.thread: threading.Thread | None = None
        """The thread :meth:`run` runs in, once it has started."""
        self._commands: queue.Queue[Command] = queue.Queue()
        self._shutting_down = threading.Event()

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        """Ask the current run to stop; it keeps what it learned and is evaluated and saved."""
        self.stop_event.set()

    def shutdown(self) -> None:
        """Stop any run without evaluating it, and end the loop as soon as possible."""
        self._shutting_down.set()
        self.stop_event.set()
        self._commands.put(Shutdown())

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down.is_set()

    def next_command(self) -> Command:
        return self._commands.get()

    def pending_commands(self) -> int:
        """How many commands wait in the queue (for tests: nothing was submitted)."""
        return self._commands.qsize()

    def run(self, post: Post) -> None:
        """The worker's body: serve commands until :class:`Shutdown`."""
        self.thread = threading.current_thread()
        try:
            self.serve(post)
        finally:
            self.finished.set()

    def serve(self, post: Post) -> None:
        raise NotImplementedError


class TrainingEngine(Engine):
    """The real engine: imports TensorFlow, loads the data, trains through ``core``."""

    def __init__(
        self,
        *,
        dataset_loader: DatasetLoader,
        runs_root: Path,
        preset: str = "seed",
        data_config: TrainConfig | None = None,
    ) -> None:
        super().__init__()
        self._load_dataset = dataset_loader
        self.runs_root = runs_root
        self.preset = preset
        self._data_key = data_key(data_config or TrainConfig())
        """Which data the loader loads: a resumed run with other settings loads its own."""
        self._dataset: Dataset | None = None
        self._data_problem = "the data set is not loaded"
        self._state: TrainState | None = None
        self._run_dir: Path | None = None
        self._run_dataset: Dataset | None = None
        """The data the model in memory was trained on."""

    def serve(self, post: Post) -> None:
        post(EngineStatus(LOADING_TENSORFLOW))
        # The import that costs seconds: done here so the first frame never waits for it.
        from core.training import detect_device

        if self.shutting_down:
            return
        post(EngineReady(detect_device()))
        self._summarize(self.preset, post)
        if self.shutting_down:
            return
        post(EngineStatus(LOADING_DATA))
        self._dataset = self._load(post)
        # TensorFlow leaves hundreds of thousands of long-lived objects; a full collection
        # walking them stops every thread (the UI too) for up to half a second. They never
        # die, so move them out of the collector's sight.
        gc.freeze()
        while True:
            command = self.next_command()
            if isinstance(command, Shutdown):
                return
            try:
                self._handle(command, post)
            except Exception as error:  # noqa: BLE001 - one failed command must not end the loop
                # sys.stderr is the log file while the app runs: the traceback lands there.
                traceback.print_exc()
                post(EngineError(one_line(error)))
            finally:
                if isinstance(command, Train | Continue | Resume):
                    # The trained model and the traced evaluation stay for the next command.
                    _freeze_survivors()
                    post(self._idle())

    def _load(self, post: Post) -> Dataset | None:
        from core.data import DataError

        try:
            dataset = self._load_dataset()
        except DataError as error:
            self._data_problem = str(error)
            post(DataFailed(str(error)))
            return None
        except Exception as error:  # noqa: BLE001 - e.g. MemoryError; the UI says what happened
            traceback.print_exc()
            self._data_problem = one_line(error)
            post(DataFailed(self._data_problem))
            return None
        post(
            DataReady(
                dataset.source, dataset.train_samples, dataset.val_samples, dataset.test_samples
            )
        )
        return dataset

    def _idle(self) -> EngineIdle:
        state = self._state
        if state is None:
            return EngineIdle(None, 0, None)
        return EngineIdle(state.run_id, state.epochs_done, state.config.model)

    def _handle(self, command: Command, post: Post) -> None:
        if isinstance(command, Summarize):
            self.preset = command.preset
            self._summarize(command.preset, post)
        elif isinstance(command, Train):
            self._drop_model()
            self._train(command.config, post)
        elif isinstance(command, Continue):
            if self._state is None or self._run_dir is None:
                post(EngineError("there is no trained model to continue: start a new run"))
                return
            config = self._state.config.with_changes(
                epochs=command.epochs, batch_size=command.batch_size
            )
            self._train(config, post)
        elif isinstance(command, Resume):
            self._resume(command, post)

    def _resume(self, command: Resume, post: Post) -> None:
        from core.data import DataError, load_dataset_for
        from core.pipeline import resume_training
        from core.runs import RunError, plan_resume

        try:
            plan = plan_resume(command.run_dir, command.epochs)
        except RunError as error:
            post(EngineError(str(error)))
            return
        dataset = self._dataset
        if data_key(plan.config) != self._data_key or dataset is None:
            # The run was trained on other data (another subset or folder): load that.
            post(EngineStatus(LOADING_DATA))
            try:
                dataset = load_dataset_for(plan.config)
            except DataError as error:
                post(EngineError(f"cannot resume {plan.run_dir.name}: {error}"))
                return
        self._drop_model()
        resumed_on = dataset
        self._execute(
            post,
            lambda on_event: resume_training(plan, on_event, self.stop_event, dataset=resumed_on),
            plan.run_dir,
            dataset,
        )

    def _drop_model(self) -> None:
        """Let the model in memory go before another is built or loaded."""
        had_model = self._state is not None
        self._state = self._run_dir = self._run_dataset = None
        if had_model:
            _collect_frozen()

    def _summarize(self, preset: str, post: Post) -> None:
        from core.models import build_model, summarize

        post(SummaryReady(preset, summarize(build_model(preset))))

    def _train(self, config: TrainConfig, post: Post) -> None:
        from core.pipeline import run_training

        # Training further uses the data the run was trained on (a resumed run may have
        # brought its own); a new run the app's.
        dataset = self._run_dataset or self._dataset
        if dataset is None:
            post(EngineError(f"cannot train: {self._data_problem}"))
            return
        state, run_dir = self._state, self._run_dir
        self._execute(
            post,
            lambda on_event: run_training(
                config,
                on_event,
                self.stop_event,
                dataset=dataset,
                runs_root=self.runs_root,
                state=state,
                run_dir=run_dir,
            ),
            run_dir,
            dataset,
        )

    def _execute(
        self,
        post: Post,
        start: Callable[[EventHandler], tuple[TrainState, Path]],
        run_dir: Path | None,
        dataset: Dataset,
    ) -> None:
        """Run ``start`` (a core pipeline call) with events posted to the app."""
        from core.runs import RunError, save_history

        self.stop_event.clear()
        started: list[TrainingStarted] = []
        ended: list[TrainingStopped | TrainingFinished] = []

        frozen_after_first_batch = False

        def on_event(event: TrainingEvent) -> None:
            nonlocal frozen_after_first_batch
            if isinstance(event, TrainingStarted):
                started.append(event)
            post(EngineEvent(event))
            # The model, its optimizer and the traced train step (after the first batch),
            # then the validation step (after each epoch) live as long as the run: out of
            # the full collections' sight too.
            if isinstance(event, BatchProgress) and not frozen_after_first_batch:
                frozen_after_first_batch = True
                _freeze_survivors()
            elif isinstance(event, EpochEnded):
                _freeze_survivors()
            if self.shutting_down and isinstance(event, TrainingStopped | TrainingFinished):
                # Quitting: evaluating 10,000 test images would hold the exit for seconds.
                ended.append(event)
                raise _ShutdownDuringRun

        try:
            self._state, self._run_dir = start(on_event)
            self._run_dataset = dataset
        except RunError as error:
            post(EngineError(str(error)))
        except _ShutdownDuringRun:
            if started and ended:
                # history.json was last written as "running"; record that the run stopped.
                begin = started[-1]
                with contextlib.suppress(RunError):
                    save_history(
                        run_dir or self.runs_root / begin.run_id,
                        ended[-1].history,
                        status="stopped",
                        planned_epochs=begin.final_epoch,
                        device=begin.device,
                        data_source=begin.data_source,
                    )


def _freeze_survivors() -> None:
    """Move every object alive now out of the garbage collector's sight (``gc.freeze``).

    Full collections stop every thread, the UI's included, for as long as they take to walk
    the objects they track, so the long-lived ones (TensorFlow, the app's widgets, a
    model and its traced functions) should not be among them. Frozen objects are still
    freed by reference counting; only cycles among them are never collected, until
    ``_collect_frozen``. The young generations are collected first so that the cyclic
    garbage of the moment is not frozen with them (a few milliseconds).
    """
    gc.collect(1)
    gc.freeze()


def _collect_frozen() -> None:
    """Collect garbage among frozen objects (a model let go), then freeze the rest again.

    Keras models are full of reference cycles: without this a frozen model would never be
    freed. It is one full collection over everything (some 0.1 s of CPU with TensorFlow
    loaded, every thread stopped), paid as a second or later run starts.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def data_key(config: TrainConfig) -> tuple[object, ...]:
    """What decides the arrays a run trains on (the seed only picks subsets)."""
    limited = config.limit_train is not None or config.limit_test is not None
    return (
        config.data_dir,
        config.val_split,
        config.limit_train,
        config.limit_test,
        config.seed if limited else None,
    )


def default_loader(
    data_dir: str | None, *, limit_train: int | None, limit_test: int | None
) -> DatasetLoader:
    """A loader for the real Fashion-MNIST, run in the engine thread."""

    def load() -> Dataset:
        from core.data import load_dataset

        return load_dataset(data_dir, limit_train=limit_train, limit_test=limit_test)

    return load
