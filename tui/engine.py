"""The worker side of the app: one long-lived thread that owns the ML framework.

TensorFlow is not thread-safe, so the model is built, trained, evaluated and summarised in
this one thread for the app's whole life; that is also what makes "continue the same model
for N more epochs" safe. The thread serves a core :class:`~core.session.RunSession`, which
orchestrates every run: the app submits core's own requests (``core.requests``), plus those
only the engine needs (:class:`Summarize`, :class:`Explain`, :class:`Predict`,
:class:`Shutdown`), through a queue, and hears back only through posted
:class:`~tui.messages.Reported` messages, never by calling into widgets.

Importing this module is cheap: the framework, Keras and the data loading are imported inside
:meth:`TrainingEngine.serve`, after the app has drawn its first frame.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import TrainConfig
from core.data import dataset_key
from core.events import BatchProgress, EpochEnded, TrainingEvent, TrainingStarted
from core.files import one_line
from core.presets import DEFAULT_MODEL
from core.requests import NewRun, ResumeRun, RunRequest
from core.session import RunSession, Signals
from tui.engine_commands import (
    EngineCommand,
    Explain,
    NewestExplain,
    Predict,
    RunSweep,
    Shutdown,
    Summarize,
)
from tui.engine_models import TrainedModels
from tui.messages import Reported
from tui.reports import (
    DataFailed,
    DataReady,
    EngineBusy,
    EngineCrashed,
    EngineError,
    EngineIdle,
    EngineReady,
    GpuSampled,
    Report,
    SummaryReady,
    SweepEnded,
)

if TYPE_CHECKING:
    from core.data import Dataset
    from core.gpu import GpuSampler, GpuSnapshot
    from core.model_files import ModelFileError
    from core.sweeps.events import SweepEvent, SweepEventHandler
    from core.sweeps.worker import SweepWorker, WorkerOutcome

Post = Callable[[Reported], object]
"""How the engine reaches the app: ``App.post_message`` (thread-safe)."""
Reporter = Callable[[Report], None]
"""Posts one report to the app."""
DataLoader = Callable[[TrainConfig], "Dataset"]
"""Loads the arrays for a run's data settings (:func:`core.data.load_dataset_for`)."""


def loading_runtime() -> str:
    """What the first seconds are spent on: importing the chosen backend's framework."""
    from core.backend import framework_name

    return f"Loading {framework_name()}…"


LOADING_DATA = "Loading data…"


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
        self.after_trial = threading.Event()
        """Set while a sweep is to stop once its current trial ends (:meth:`stop_after_trial`)."""
        self._commands: queue.Queue[EngineCommand | NewestExplain] = queue.Queue()
        self._explain_lock = threading.Lock()
        self._newest_explain: Explain | None = None

    def submit(self, command: EngineCommand) -> None:
        """Queue ``command``; an :class:`Explain` replaces the one still waiting, if any."""
        if not isinstance(command, Explain):
            self._commands.put(command)
            return
        with self._explain_lock:
            waiting = self._newest_explain is not None
            self._newest_explain = command
        if not waiting:
            self._commands.put(NewestExplain())

    def stop(self) -> None:
        """Ask the current run to stop; it keeps what it learned and is evaluated and saved."""
        self.signals.request_stop()

    def stop_after_trial(self) -> None:
        """Let the sweep's current trial train to its end, then end the sweep."""
        self.after_trial.set()

    def shutdown(self) -> None:
        """Stop any run without evaluating it, and end the loop as soon as possible."""
        self.signals.request_abort()
        self._commands.put(Shutdown())

    @property
    def shutting_down(self) -> bool:
        return self.signals.aborted

    def next_command(self) -> EngineCommand:
        """The next command, waiting for one (an :class:`Explain`: the newest submitted)."""
        while True:
            command = self._commands.get()
            if not isinstance(command, NewestExplain):
                return command
            with self._explain_lock:
                newest, self._newest_explain = self._newest_explain, None
            if newest is not None:
                return newest

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
                post(Reported(EngineCrashed(one_line(error))))

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
        model: str = DEFAULT_MODEL,
        data_config: TrainConfig | None = None,
    ) -> None:
        """
        Args:
            dataset_loader: loads the arrays for a run's data settings.
            runs_root: where runs are saved.
            model: the model whose summary is shown first.
            data_config: the data settings the app starts with (loaded at once).
        """
        super().__init__()
        self.model = model
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
        self._models = TrainedModels(self.session, freeze=_freeze_survivors)
        self._sweep_worker: SweepWorker | None = None

    def serve(self, post: Post) -> None:
        def report(what: Report) -> None:
            post(Reported(what))

        report(EngineBusy(loading_runtime()))
        # Naming the device imports Keras and its framework, the import that costs seconds:
        # done here so the first frame never waits for it.
        from core.backend import device_line

        if self.shutting_down:
            return
        report(EngineReady(device_line()))
        from core.gpu import open_sampler

        # NVIDIA GPUs only (NVML); its own daemon thread reads the GPU once a second.
        def on_sample(snapshot: GpuSnapshot) -> None:
            report(GpuSampled(snapshot))

        self._gpu = open_sampler(on_sample)
        self._summarize(self.model, report)
        if self.shutting_down:
            return
        report(EngineBusy(LOADING_DATA))
        self._load(report)
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
                self._handle(command, report)
            except Exception as error:  # noqa: BLE001 - one failed command must not end the loop
                # sys.stderr is the log file while the app runs: the traceback lands there.
                traceback.print_exc()
                report(EngineError(one_line(error)))
            finally:
                # Explaining and predicting use a model and leave the engine as it was.
                if not isinstance(command, Summarize | Explain | Predict):
                    # The trained model and the traced evaluation stay for the next command.
                    _freeze_survivors()
                    report(EngineIdle(self.session.held))

    def _load(self, report: Reporter) -> None:
        from core.data import DataError

        try:
            dataset = self.session.dataset_for(self.data_config)
        except DataError as error:
            self._data_problem = str(error)
            report(DataFailed(str(error)))
            return
        except Exception as error:  # noqa: BLE001 - e.g. MemoryError; the UI says what happened
            traceback.print_exc()
            self._data_problem = one_line(error)
            report(DataFailed(self._data_problem))
            return
        self._data_ready = True
        report(
            DataReady(
                dataset.source, dataset.train_samples, dataset.val_samples, dataset.test_samples
            )
        )

    def _handle(
        self, command: RunRequest | Summarize | Explain | Predict | RunSweep, report: Reporter
    ) -> None:
        if isinstance(command, RunSweep):
            self._sweep(command, report)
        elif isinstance(command, Summarize):
            self.model = command.model
            self._summarize(command.model, report)
        elif isinstance(command, Explain):
            self._models.explain(command, report)
        elif isinstance(command, Predict):
            self._models.predict(command, report)
        elif (
            isinstance(command, NewRun)
            and not self._data_ready
            and dataset_key(command.config) == dataset_key(self.data_config)
        ):
            report(EngineError(f"cannot train: {self._data_problem}"))
        else:
            self._run(command, report)

    def _summarize(self, model: str, report: Reporter) -> None:
        from core.model_files import ModelFileError, looks_like_a_file, read_model_file
        from core.models import build_model, summarize

        try:
            source = read_model_file(model) if looks_like_a_file(model) else None
            built = build_model(model, source=source)
        except ModelFileError as error:
            _log_their_traceback(error)
            report(EngineError(str(error), error.details))
            return
        report(SummaryReady(model, summarize(built)))

    def _run(self, request: RunRequest, report: Reporter) -> None:
        """Plan and run ``request`` through the session, reporting its events to the app."""
        from core.data import DataError
        from core.errors import RunError
        from core.model_files import ModelFileError

        frozen_after_first_batch = False

        def on_event(event: TrainingEvent) -> None:
            nonlocal frozen_after_first_batch
            report(event)
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
                report(EngineBusy(LOADING_DATA))
            self.session.run(plan, on_event)
        except DataError as error:
            name = request.run_dir.name if isinstance(request, ResumeRun) else "the run"
            report(EngineError(f"cannot train {name}: {error}"))
        except RunError as error:
            report(EngineError(str(error)))
        except ModelFileError as error:
            _log_their_traceback(error)
            report(EngineError(str(error), error.details))
        finally:
            self.run_settled.set()

    # --- Sweeps ---------------------------------------------------------------------------

    def stop_after_trial(self) -> None:
        super().stop_after_trial()
        worker = self._sweep_worker
        if worker is not None:
            worker.stop_after_trial()

    def _sweep(self, command: RunSweep, report: Reporter) -> None:
        """One worker of the sweep, its trials trained by this engine's session; it ends when
        the study has its trials, after a trial once ``s`` asked (:meth:`stop_after_trial`),
        or at once when the app quits (the trial is queued to be carried on)."""
        from core.data import DataError
        from core.sweeps.errors import SweepError
        from core.sweeps.setup import set_up_sweep
        from core.sweeps.worker import SweepWorker

        outcome: WorkerOutcome | None = None
        self.run_settled.clear()
        try:
            config = self.data_config
            setup = set_up_sweep(
                command.space_path,
                runs_root=self.session.runs_root,
                trials=command.trials,
                storage=command.storage,
                study=command.study,
                data_dir=config.data_dir,
                limit_train=config.limit_train,
                limit_test=config.limit_test,
                how_to_count="a number of trials",
            )
            if dataset_key(setup.first) != dataset_key(config):
                report(EngineBusy(LOADING_DATA))
            # Loaded before the study is joined: bad data starts no trial.
            self.session.dataset_for(setup.first)
            worker = SweepWorker(
                setup.space,
                setup.storage,
                setup.study,
                session=self.session,
                base=setup.base,
                target=setup.target,
                on_event=_sweep_reporter(report),
            )
            self._sweep_worker = worker
            if self.after_trial.is_set():  # s came before the worker was made
                worker.stop_after_trial()
            outcome = worker.run()
        except (SweepError, DataError) as error:
            report(EngineError(f"cannot run the sweep: {error}"))
        finally:
            self._sweep_worker = None
            self.after_trial.clear()
            self.run_settled.set()
            if outcome is None:  # it never ran: the error says why
                report(SweepEnded(None, "failed", 0))
            else:
                status, trials = outcome.status, outcome.trials_run
                report(SweepEnded(setup.study, status, trials, outcome.message, outcome.summary))


def _sweep_reporter(report: Reporter) -> SweepEventHandler:
    """Reports a sweep's events, and each trial's training events as :meth:`_run` does."""
    frozen_after_first_batch = False

    def on_event(event: SweepEvent | TrainingEvent) -> None:
        nonlocal frozen_after_first_batch
        report(event)
        # As in _run: the model and its traced steps live as long as the trial's run.
        if isinstance(event, TrainingStarted):
            frozen_after_first_batch = False
        elif isinstance(event, BatchProgress) and not frozen_after_first_batch:
            frozen_after_first_batch = True
            _freeze_survivors()
        elif isinstance(event, EpochEnded):
            _freeze_survivors()

    return on_event


def _log_their_traceback(error: ModelFileError) -> None:
    """The user's own traceback into the log file (which file descriptor 2 points at)."""
    print(str(error), file=sys.stderr)
    if error.details:
        print(error.details, file=sys.stderr)


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
