"""The worker side of the app: one long-lived thread that owns TensorFlow.

TensorFlow is not thread-safe, so the model is built, trained, evaluated and summarised in
this one thread for the app's whole life; that is also what makes "continue the same model
for N more epochs" safe. The thread serves a core :class:`~core.session.RunSession`, which
orchestrates every run; this module only turns the app's commands into session requests and
the session's events into messages. The app talks to the engine through a queue of commands
and hears back only through posted messages (``post``), never by calling into widgets.

Importing this module is cheap: TensorFlow, Keras and the data loading are imported inside
:meth:`TrainingEngine.serve`, after the app has drawn its first frame.
"""

from __future__ import annotations

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
from core.data import dataset_key
from core.events import BatchProgress, EpochEnded, TrainingEvent
from core.files import one_line
from core.session import ContinueRun, NewRun, ResumeRun, RunRequest, RunSession, Signals
from tui.messages import (
    DataFailed,
    DataReady,
    EngineCrashed,
    EngineError,
    EngineEvent,
    EngineIdle,
    EngineReady,
    EngineStatus,
    GpuSampled,
    SummaryReady,
)

if TYPE_CHECKING:
    from core.data import Dataset
    from core.gpu import GpuSampler, GpuSnapshot

Post = Callable[[Message], object]
"""How the engine reaches the app: ``App.post_message`` (thread-safe)."""
DataLoader = Callable[[TrainConfig], "Dataset"]
"""Loads the arrays for a run's data settings (:func:`core.data.load_dataset_for`)."""


def loading_runtime() -> str:
    """What the first seconds are spent on: importing the chosen backend's framework."""
    from core.backend import framework_name

    return f"Loading {framework_name()}…"


LOADING_TENSORFLOW = "Loading TensorFlow…"
"""The status line while TensorFlow, the default backend, loads (snapshots show it)."""
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


class Engine:
    """The command queue and stop flags, shared by the real engine and test doubles.

    :meth:`run` is the body of the app's thread worker; everything else is called from the
    UI thread.
    """

    def __init__(self) -> None:
        self.run_settled = threading.Event()
        """Clear while a run is being trained or saved; set once its files are written."""
        self.run_settled.set()
        self.signals = Signals()
        """Stop (evaluate and save) and abort (quit) flags that core checks at every batch."""
        self.finished = threading.Event()
        """Set once :meth:`run` has returned, so callers can wait for the thread to end."""
        self.thread: threading.Thread | None = None
        """The thread :meth:`run` runs in, once it has started."""
        self._commands: queue.Queue[Command] = queue.Queue()

    @property
    def stop_event(self) -> threading.Event:
        """Set to stop training at the end of the current batch."""
        return self.signals.stop

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        """Ask the current run to stop; it keeps what it learned and is evaluated and saved."""
        self.signals.request_stop()

    def shutdown(self) -> None:
        """Stop any run without evaluating it, and end the loop as soon as possible."""
        self.signals.request_abort()
        self._commands.put(Shutdown())

    @property
    def shutting_down(self) -> bool:
        return self.signals.aborted

    def next_command(self) -> Command:
        return self._commands.get()

    def pending_commands(self) -> int:
        """How many commands wait in the queue (for tests: nothing was submitted)."""
        return self._commands.qsize()

    def start_thread(self, post: Post) -> threading.Thread:
        """Serve commands in a thread of its own, posting what happens with ``post``.

        Not a Textual worker: workers run in asyncio's executor, which the app joins on exit,
        so quitting would wait for the ML runtime (its import, a kernel in flight). The thread
        is told to stop (an abort that core checks at every batch) and given a moment to
        record how the run ended (``tui.startup``); after that the process may end without
        it, as a kill would: every file is written atomically.
        """

        def body() -> None:
            try:
                self.run(post)
            except Exception as error:  # noqa: BLE001 - the app stays usable and says why
                traceback.print_exc()  # into the log file, which fd 2 points at
                post(EngineCrashed(one_line(error)))

        thread = threading.Thread(target=body, name="engine", daemon=True)
        thread.start()
        return thread

    def run(self, post: Post) -> None:
        """The thread's body: serve commands until :class:`Shutdown`."""
        self.thread = threading.current_thread()
        try:
            self.serve(post)
        finally:
            self.finished.set()

    def serve(self, post: Post) -> None:
        raise NotImplementedError


class TrainingEngine(Engine):
    """The real engine: a core :class:`RunSession` served in one thread for the app's life."""

    def __init__(
        self,
        *,
        dataset_loader: DataLoader,
        runs_root: Path,
        preset: str = "seed",
        data_config: TrainConfig | None = None,
    ) -> None:
        """
        Args:
            dataset_loader: loads the arrays for a run's data settings.
            runs_root: where runs are saved.
            preset: the model whose summary is shown first.
            data_config: the data settings the app starts with (loaded at once).
        """
        super().__init__()
        self.preset = preset
        self.data_config = data_config or TrainConfig()
        self.session = RunSession(
            runs_root,
            signals=self.signals,
            load_data=dataset_loader,
            release_model=_collect_frozen,
        )
        self._data_problem = "the data set is not loaded"
        self._data_ready = False
        self._gpu: GpuSampler | None = None

    def serve(self, post: Post) -> None:
        post(EngineStatus(loading_runtime()))
        # The import that costs seconds: done here so the first frame never waits for it.
        from core.training import detect_device

        if self.shutting_down:
            return
        post(EngineReady(detect_device()))
        from core.gpu import open_sampler

        # NVIDIA GPUs only (NVML); its own daemon thread reads the GPU once a second.
        def on_sample(snapshot: GpuSnapshot) -> None:
            post(GpuSampled(snapshot))

        self._gpu = open_sampler(on_sample)
        self._summarize(self.preset, post)
        if self.shutting_down:
            return
        post(EngineStatus(LOADING_DATA))
        self._load(post)
        # TensorFlow leaves hundreds of thousands of long-lived objects; a full collection
        # walking them stops every thread (the UI too) for up to half a second. They never
        # die, so move them out of the collector's sight.
        gc.freeze()
        while True:
            command = self.next_command()
            if isinstance(command, Shutdown):
                if self._gpu is not None:
                    self._gpu.stop()
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

    def _load(self, post: Post) -> None:
        from core.data import DataError

        try:
            dataset = self.session.dataset_for(self.data_config)
        except DataError as error:
            self._data_problem = str(error)
            post(DataFailed(str(error)))
            return
        except Exception as error:  # noqa: BLE001 - e.g. MemoryError; the UI says what happened
            traceback.print_exc()
            self._data_problem = one_line(error)
            post(DataFailed(self._data_problem))
            return
        self._data_ready = True
        post(
            DataReady(
                dataset.source, dataset.train_samples, dataset.val_samples, dataset.test_samples
            )
        )

    def _idle(self) -> EngineIdle:
        held = self.session.held
        if held is None:
            return EngineIdle(None, 0, None)
        return EngineIdle(held.run_id, held.epochs_done, held.model)

    def _handle(self, command: Command, post: Post) -> None:
        if isinstance(command, Summarize):
            self.preset = command.preset
            self._summarize(command.preset, post)
            return
        request: RunRequest
        if isinstance(command, Train):
            if not self._data_ready and dataset_key(command.config) == dataset_key(
                self.data_config
            ):
                post(EngineError(f"cannot train: {self._data_problem}"))
                return
            request = NewRun(command.config)
        elif isinstance(command, Continue):
            request = ContinueRun(command.epochs, command.batch_size)
        elif isinstance(command, Resume):
            request = ResumeRun(command.run_dir, command.epochs)
        else:
            return
        self._run(request, post)

    def _summarize(self, preset: str, post: Post) -> None:
        from core.models import build_model, summarize

        post(SummaryReady(preset, summarize(build_model(preset))))

    def _run(self, request: RunRequest, post: Post) -> None:
        """Plan and run ``request`` through the session, posting its events to the app."""
        from core.data import DataError
        from core.runs import RunError

        frozen_after_first_batch = False

        def on_event(event: TrainingEvent) -> None:
            nonlocal frozen_after_first_batch
            post(EngineEvent(event))
            # The model, its optimizer and the traced train step (after the first batch),
            # then the validation step (after each epoch) live as long as the run: out of
            # the full collections' sight too.
            if isinstance(event, BatchProgress) and not frozen_after_first_batch:
                frozen_after_first_batch = True
                _freeze_survivors()
            elif isinstance(event, EpochEnded):
                _freeze_survivors()

        self.run_settled.clear()
        try:
            plan = self.session.plan(request)
            if plan.resume is not None and dataset_key(plan.config) != dataset_key(
                self.data_config
            ):
                # The run was trained on other data (another subset or folder): say so.
                post(EngineStatus(LOADING_DATA))
            self.session.run(plan, on_event)
        except DataError as error:
            name = request.run_dir.name if isinstance(request, ResumeRun) else "the run"
            post(EngineError(f"cannot train {name}: {error}"))
        except RunError as error:
            post(EngineError(str(error)))
        finally:
            self.run_settled.set()


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


def default_loader(config: TrainConfig) -> Dataset:
    """The real Fashion-MNIST for a run's data settings, loaded in the engine thread."""
    from core.data import load_dataset_for

    return load_dataset_for(config)
