"""The Textual app: train a Fashion-MNIST CNN and inspect what it got wrong.

The app owns all state; widgets are views it updates from message handlers. Training runs in
one long-lived engine thread (``tui.engine``) that posts core events as messages. Importing
this module is cheap: TensorFlow is imported by the engine thread after the first frame.
"""

from __future__ import annotations

import gc
import io
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar, Final, TextIO, cast

import numpy as np
import numpy.typing as npt
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.driver import Driver
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from core.config import MODEL_PRESETS, ConfigError, TrainConfig
from core.evaluation import Evaluation
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    RunSaved,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.files import one_line
from core.runs import parse_started
from tui.engine import LOADING_TENSORFLOW, Continue, Engine, Resume, Summarize, Train
from tui.messages import (
    DataFailed,
    DataReady,
    EngineError,
    EngineEvent,
    EngineIdle,
    EngineReady,
    EngineStatus,
    ExportFailed,
    ExportFinished,
    OverlayLoaded,
    RunLoaded,
    RunLoadFailed,
    RunsListed,
    SummaryReady,
)
from tui.screens.confirm import ConfirmQuit
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen, HelpSection, key_rows
from tui.screens.log_view import LogScreen
from tui.screens.resume_dialog import ResumeDialog
from tui.screens.train_dialog import ContinueOption, TrainDialog, TrainRequest
from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionTable, ConfusionView
from tui.widgets.log_pane import LogPane
from tui.widgets.mistakes import MistakesPane, MistakesView
from tui.widgets.progress import Progress, ProgressLine, estimate_eta, format_duration
from tui.widgets.runs_table import RunsTable
from tui.widgets.summary import ModelSummaryView

MIN_WIDTH: Final = 80
MIN_HEIGHT: Final = 24
WIDE_WIDTH: Final = 120
TALL_HEIGHT: Final = 36
REDRAW_INTERVAL_S: Final = 0.25
"""Each chart redraws at most four times a second, however fast progress arrives."""
TABS: Final = ("train", "mistakes", "confusion", "runs")
MIN_CHART_BATCHES: Final = 3

FAILURE_TITLES: Final = {
    "data": "Data problem",
    "out_of_memory": "Out of memory",
    "nan_loss": "Training diverged",
    "io": "Could not save the run",
    "error": "Training failed",
}


@dataclass(eq=False)
class RunView:
    """One run as the app shows it: trained in this session, or opened from disk."""

    run_id: str
    model: str
    run_dir: Path | None = None
    batch_size: int = 32
    final_epoch: int = 0
    batches: int = 0
    history: list[EpochMetrics] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    """Lengths of the epochs trained since the last start, for the ETA."""
    samples_per_second: float = 0.0
    evaluation: Evaluation | None = None
    test_images: npt.NDArray[np.uint8] | None = None
    status: str = "training"
    saved: bool = False
    """Opened from a run folder rather than trained by this session."""
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` when early stopping ended the run."""


@dataclass(frozen=True, slots=True)
class Views:
    """The app's widgets, looked up once.

    Handlers that run while the app shuts down (a late engine message, the redraw timer) then
    update detached widgets instead of failing to find them.
    """

    tabs: TabbedContent
    status: Static
    progress: ProgressLine
    test_accuracy: Static
    accuracy_chart: MetricChart
    loss_chart: MetricChart
    summary: ModelSummaryView
    log: LogPane
    mistakes: MistakesPane
    confusion: ConfusionView
    runs: RunsTable
    runs_heading: Static
    too_small: Static
    footer: Footer


class FmnistApp(App[int]):
    """Train, watch, stop, inspect mistakes, export."""

    TITLE = "fmnist-tui"
    CSS_PATH = "app.tcss"
    # App declares these as instance attributes, so they cannot be annotated ClassVar here.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-too-narrow"),
        (MIN_WIDTH, "-narrow"),
        (WIDE_WIDTH, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-too-short"),
        (MIN_HEIGHT, "-short"),
        (TALL_HEIGHT, "-tall"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "train",
            "Train",
            tooltip="Choose epochs, model and batch size, then train",
            id="app.train",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            tooltip="Stop after the current batch, keeping what was learned",
            id="app.stop",
        ),
        Binding(
            "e",
            "export",
            "Export",
            tooltip="Write the run's PNG plots into its folder",
            id="app.export",
        ),
        Binding("1", "show_tab('train')", "Train tab", show=False, id="app.tab_train"),
        Binding("2", "show_tab('mistakes')", "Mistakes tab", show=False, id="app.tab_mistakes"),
        Binding("3", "show_tab('confusion')", "Confusion tab", show=False, id="app.tab_confusion"),
        Binding("4", "show_tab('runs')", "Runs tab", show=False, id="app.tab_runs"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks first while training)", id="app.quit"),
        Binding(
            "ctrl+s",
            "save_screenshot",
            "Screenshot",
            show=False,
            tooltip="Save an SVG of the screen",
            id="app.screenshot",
        ),
    ]

    training: reactive[bool] = reactive(False, bindings=True)
    """A Train or Continue command is with the engine (until it reports idle)."""
    stopping: reactive[bool] = reactive(False, bindings=True)
    has_results: reactive[bool] = reactive(False, bindings=True)
    """The run on show has at least one finished epoch, so there is something to export."""

    def __init__(
        self,
        *,
        engine: Engine,
        runs_dir: Path,
        preset: str = "seed",
        base_config: TrainConfig | None = None,
        log_path: Path | None = None,
        cursor_blink: bool = True,
    ) -> None:
        """
        Args:
            engine: runs the training; a fake in snapshot tests.
            runs_dir: where runs are saved and listed.
            preset: the model preset shown and used by default.
            base_config: data limits and other settings every new run starts from.
            log_path: the log file that file descriptor 2 points at, followed in the log pane.
            cursor_blink: off in snapshot tests, so that screenshots are stable.
        """
        super().__init__()
        self.engine = engine
        self.cursor_blink = cursor_blink
        self.runs_dir = runs_dir
        self.preset = preset
        self.base_config = base_config or TrainConfig(model=preset)
        self.log_path = log_path
        self.device: str | None = None
        self.data_description: str | None = None
        self.engine_ready = False
        self.shown: RunView | None = None
        """The run on show."""
        self.live: RunView | None = None
        """The run whose model the engine holds (what "continue" trains further)."""
        self.continue_option: ContinueOption | None = None
        self._awaiting_run = False
        self._last_request: TrainRequest | None = None
        self._views: Views | None = None
        self._redraws = 0

    @property
    def views(self) -> Views:
        if self._views is None:
            query = self.query_one
            self._views = Views(
                tabs=query("#tabs", TabbedContent),
                status=query("#status", Static),
                progress=query("#progress", ProgressLine),
                test_accuracy=query("#test-accuracy", Static),
                accuracy_chart=query("#accuracy-chart", MetricChart),
                loss_chart=query("#loss-chart", MetricChart),
                summary=query("#summary", ModelSummaryView),
                log=query("#log", LogPane),
                mistakes=query(MistakesPane),
                confusion=query(ConfusionView),
                runs=query(RunsTable),
                runs_heading=query("#runs-heading", Static),
                too_small=query("#too-small", Static),
                footer=query(Footer),
            )
        return self._views

    # --- Layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs", initial="train"):
            with TabPane("1 Train", id="train"):
                yield Static(LOADING_TENSORFLOW, id="status", markup=False)
                with Horizontal(id="progress-row"):
                    yield ProgressLine(id="progress")
                    yield Static("", id="test-accuracy", markup=False)
                with Container(id="train-body"):
                    with Container(id="charts"):
                        yield MetricChart("accuracy", id="accuracy-chart")
                        yield MetricChart("loss", id="loss-chart")
                    yield ModelSummaryView(id="summary")
                    yield LogPane(self.log_path, id="log")
            with TabPane("2 Mistakes", id="mistakes"):
                yield MistakesPane(id="mistakes-pane")
            with TabPane("3 Confusion", id="confusion"):
                yield ConfusionView(id="confusion-view")
            with TabPane("4 Runs", id="runs"):
                yield Static(f"Saved runs in {self.runs_dir}", id="runs-heading", markup=False)
                yield RunsTable(id="runs-table")
        yield Static("", id="too-small", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.views.summary.border_title = "Model"
        self.views.log.border_title = "Log"
        self.views.test_accuracy.display = False
        self._progress().message = "t sets up a run while TensorFlow loads"
        self.sub_title = "loading"
        self._describe_size()
        self.set_interval(REDRAW_INTERVAL_S / len(self._charts()), self._redraw_charts)
        # Start the engine after the first frame is on screen: its TensorFlow import holds
        # the GIL for seconds and would otherwise delay that frame.
        self.call_after_refresh(self._start_background_work)

    def _start_background_work(self) -> None:
        # What the first frame needed (modules, the widget tree, styles) lives as long as the
        # app: keep full collections, which stop every thread, from walking it each time.
        # Frozen objects are still freed by reference counting (see tui.engine).
        gc.freeze()
        self._run_engine()
        self._list_runs()

    def on_resize(self, event: events.Resize) -> None:
        # App._on_resize stores the new size after this handler runs: use the event's.
        self._describe_size(event.size)

    def _describe_size(self, size: Size | None = None) -> None:
        width, height = size or self.size
        # Below 120 columns the Mistakes tab's keys and the app's only fit without padding
        # and without the palette hint (the help screen names ctrl+p).
        footer = self.views.footer
        narrow = width < WIDE_WIDTH
        if footer.compact != narrow:
            footer.compact = narrow
            footer.show_command_palette = not narrow
            footer.refresh(recompose=True)
        self.views.too_small.update(
            f"fmnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
            f"This one is {width}x{height}: make it larger (or zoom out).\n\n"
            "Training goes on meanwhile; q quits."
        )

    # --- Widgets ----------------------------------------------------------------------------

    def _progress(self) -> ProgressLine:
        return self.views.progress

    def _charts(self) -> tuple[MetricChart, MetricChart]:
        return self.views.accuracy_chart, self.views.loss_chart

    def _note(self, text: str, style: str = "") -> None:
        self.views.log.add(text, style)

    def _redraw_charts(self) -> None:
        # One chart per tick, in turn: a frame that builds both plotext figures holds the
        # event loop (keys, the other tabs) twice as long.
        charts = self._charts()
        self._redraws += 1
        with self.batch_update():
            charts[self._redraws % len(charts)].flush()

    # --- Engine -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine", name="engine")
    def _run_engine(self) -> None:
        self.engine.run(self.post_message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        if worker.group == "engine":
            self.training = False
            self.stopping = False
            self._show_error(
                "The training engine stopped",
                f"{one_line(error)}\nRestart the app to train again.",
            )
        else:
            self.notify(one_line(error), title=f"{worker.name} failed", severity="error")

    def on_engine_status(self, message: EngineStatus) -> None:
        self._status(message.text)

    def on_engine_ready(self, message: EngineReady) -> None:
        self.engine_ready = True
        self.device = message.device
        self._note(f"TensorFlow ready on {message.device}")
        self._status()
        self._update_sub_title()

    def on_data_ready(self, message: DataReady) -> None:
        # The counts first: on a narrow screen the source's folder is what gets cut off.
        self.data_description = (
            f"{message.train:,} train / {message.val:,} val / {message.test:,} test · "
            f"{message.source}"
        )
        self._note(f"Data: {self.data_description}")
        self._status()
        if not self.training:
            self._progress().message = "Ready: press t to train"

    def on_data_failed(self, message: DataFailed) -> None:
        self.data_description = "no data"
        self._status()
        self._note(f"Data could not be loaded: {message.message}", "red")
        self._progress().message = "No data: see the error (--data-dir DIR picks a folder)"
        self._show_error("The data set could not be loaded", message.message)

    def on_summary_ready(self, message: SummaryReady) -> None:
        # A summary of another preset than the one now chosen is stale; a training run's own
        # summary (from TrainingStarted) wins while it is on show.
        if message.preset == self.preset and not self.training:
            self.views.summary.set_summary(message.summary, message.preset)

    def on_engine_error(self, message: EngineError) -> None:
        self._note(message.message, "red")
        self._show_error("Training could not run", message.message)

    def on_engine_idle(self, message: EngineIdle) -> None:
        self.training = False
        self.stopping = False
        self._awaiting_run = False
        if message.run_id is not None and message.model is not None:
            self.continue_option = ContinueOption(
                message.run_id, message.model, message.epochs_done
            )
        else:
            self.continue_option = None
        self._progress().progress = None
        self._progress().message = self._idle_message()
        self._update_sub_title()

    def _idle_message(self) -> str:
        run = self.shown
        if run is None:
            return "Ready: press t to train"
        epochs = len(run.history)
        text = f"{run.model} {run.status}: {epochs} epoch{'s' if epochs != 1 else ''}"
        if run.saved:
            return f"Saved run {run.run_id}: {text}"
        return f"{text} · t train more · e export"

    # --- Training events --------------------------------------------------------------------

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if not self._accept(event):
            return
        if isinstance(event, TrainingStarted):
            self._training_started(event)
        elif isinstance(event, BatchProgress):
            self._batch_progress(event)
        elif isinstance(event, EpochEnded):
            self._epoch_ended(event)
        elif isinstance(event, TrainingFinished | TrainingStopped):
            self._training_ended(event)
        elif isinstance(event, TrainingFailed):
            self._training_failed(event)
        elif isinstance(event, EvaluationFinished):
            self._evaluated(event)
        elif isinstance(event, RunSaved):
            self._saved(event)

    def _accept(self, event: TrainingEvent) -> bool:
        """Drop events of a run that is no longer the one being trained."""
        if self.live is not None and event.run_id == self.live.run_id:
            return True
        # The first event of a newly started run names its id; adopt it.
        return self._awaiting_run

    def _training_started(self, event: TrainingStarted) -> None:
        self._awaiting_run = False
        live = self.live
        continuing = event.initial_epoch > 0 and live is not None and live.run_id == event.run_id
        if continuing and live is not None:
            run = live
            # The event's history is the checkpoint's: what this run really has on disk.
            run.history = list(event.history)
            run.early_stopping = None
            self._show_run(live)
        else:
            # A new run, or a saved one resumed (it brings the epochs it already has).
            run = RunView(
                run_id=event.run_id,
                model=event.config.model,
                history=list(event.history),
                final_epoch=event.final_epoch,
            )
            self.live = run
            self._show_run(run)
        run.status = "training"
        run.final_epoch = event.final_epoch
        run.batches = event.batches_per_epoch
        run.batch_size = event.config.batch_size
        run.epoch_seconds.clear()
        run.samples_per_second = 0.0
        for chart in self._charts():
            chart.set_final_epoch(event.final_epoch)
        self.views.summary.set_summary(event.summary, run.model)
        verb = "Continuing" if continuing else "Resuming" if event.history else "Training"
        self._note(
            f"{verb} {run.model} ({event.run_id}): epochs {event.initial_epoch + 1}-"
            f"{event.final_epoch}, batch size {event.config.batch_size}, "
            f"{event.train_samples:,} train / {event.val_samples:,} val samples"
        )
        self._progress().progress = Progress(
            event.initial_epoch + 1, event.final_epoch, 0, event.batches_per_epoch, 0.0, None
        )
        self._update_sub_title()

    def _batch_progress(self, event: BatchProgress) -> None:
        run = self.live
        if run is None:
            return
        # The instantaneous rate jumps around; a little smoothing keeps the ETA readable.
        if run.samples_per_second <= 0:
            run.samples_per_second = event.samples_per_second
        else:
            run.samples_per_second = 0.7 * run.samples_per_second + 0.3 * event.samples_per_second
        # A running mean over the first few batches of an epoch is noise (and the first
        # batch also waits for the shuffle buffer): leave those off the charts.
        if event.batch >= max(MIN_CHART_BATCHES, event.batches // 20):
            accuracy_chart, loss_chart = self._charts()
            position = event.fractional_epoch
            accuracy_chart.add_batch(position, event.accuracy)
            loss_chart.add_batch(position, event.loss)
        eta = estimate_eta(
            epoch=event.epoch,
            batch=event.batch,
            batches=event.batches,
            final_epoch=run.final_epoch,
            samples_per_second=run.samples_per_second,
            batch_size=run.batch_size,
            epoch_seconds=run.epoch_seconds,
        )
        if not self.stopping:
            self._progress().progress = Progress(
                event.epoch,
                run.final_epoch,
                event.batch,
                event.batches,
                run.samples_per_second,
                eta,
            )

    def _epoch_ended(self, event: EpochEnded) -> None:
        run = self.live
        if run is None:
            return
        metrics = event.metrics
        run.history.append(metrics)
        run.epoch_seconds.append(metrics.seconds)
        run.final_epoch = event.final_epoch
        self.has_results = self.shown is run
        for chart in self._charts():
            chart.add_epoch(metrics)
        self._note(
            f"Epoch {metrics.epoch}/{event.final_epoch}: loss {metrics.loss:.4f} "
            f"acc {metrics.accuracy:.4f} · val loss {metrics.val_loss:.4f} "
            f"acc {metrics.val_accuracy:.4f} · {format_duration(metrics.seconds)}"
        )
        self._update_sub_title()

    def _training_ended(self, event: TrainingFinished | TrainingStopped) -> None:
        run = self.live
        if run is None:
            return
        run.history = list(event.history)
        run.status = "finished" if isinstance(event, TrainingFinished) else "stopped"
        if isinstance(event, TrainingFinished) and event.early_stopping is not None:
            run.early_stopping = event.early_stopping
            for chart in self._charts():
                chart.set_marker(event.early_stopping["stopped_epoch"])
            self._note(
                f"Early stopping after epoch {event.early_stopping['stopped_epoch']}: "
                f"the model keeps epoch {event.early_stopping['best_epoch']}'s weights "
                "(lowest validation loss)",
                "bold",
            )
        epochs = len(event.history)
        took = format_duration(event.seconds)
        if isinstance(event, TrainingStopped) and not event.history:
            self._note(f"Stopped before the first epoch ended ({took}): nothing to evaluate")
        else:
            self._note(f"Training {run.status}: {epochs} epochs in {took}; evaluating the test set")
            self._progress().progress = None
            self._progress().message = "Evaluating the test set…"
        self._update_sub_title()

    def _training_failed(self, event: TrainingFailed) -> None:
        run = self.live
        if run is None:
            # It failed before it started (say the model could not compile).
            run = self.live = self.shown = RunView(run_id=event.run_id, model=self.preset)
        run.status = "failed"
        self._note(f"Training failed: {event.message}", "red")
        self._show_error(FAILURE_TITLES.get(event.kind, "Training failed"), event.message)
        self._update_sub_title()

    def _evaluated(self, event: EvaluationFinished) -> None:
        run = self.live
        if run is None:
            return
        run.evaluation = event.evaluation
        run.test_images = event.test_images
        if self.shown is run:
            self._show_evaluation(run)
        accuracy = event.evaluation.test_accuracy
        self._note(f"Test accuracy: {accuracy:.4f} (loss {event.evaluation.test_loss:.4f})", "bold")
        self.notify(f"Test accuracy: {accuracy:.4f}", title=run.run_id)
        self._update_sub_title()

    def _saved(self, event: RunSaved) -> None:
        run = self.live
        if run is None:
            return
        run.run_dir = Path(event.run_dir)
        self._note(f"Saved in {event.run_dir}")
        self._list_runs()

    # --- Showing a run ----------------------------------------------------------------------

    def _show_run(self, run: RunView) -> None:
        """Point every view at ``run``."""
        self.shown = run
        marker = None if run.early_stopping is None else run.early_stopping["stopped_epoch"]
        for chart in self._charts():
            chart.set_history(run.history, run.final_epoch)
            chart.set_marker(marker)
        self.has_results = bool(run.history)
        self._show_evaluation(run)

    def _show_evaluation(self, run: RunView) -> None:
        accuracy = self.views.test_accuracy
        mistakes = self.views.mistakes
        confusion = self.views.confusion
        if run.evaluation is None:
            accuracy.display = False
            mistakes.clear()
            confusion.clear()
            return
        accuracy.update(f"Test accuracy: {run.evaluation.test_accuracy:.4f}")
        accuracy.display = True
        confusion.set_data(run.evaluation)
        if run.test_images is not None:
            mistakes.set_data(run.evaluation, run.test_images)

    def _status(self, override: str | None = None) -> None:
        """The line under the tabs: device and data, or what is being loaded."""
        if override is not None and not self.engine_ready:
            text = override
        else:
            parts = [self.device or "device unknown"]
            if self.data_description:
                parts.append(self.data_description)
            elif override:
                parts.append(override)
            text = " · ".join(parts)
        self.views.status.update(text)

    def _update_sub_title(self) -> None:
        run = self.shown
        if not self.engine_ready:
            self.sub_title = "loading"
        elif self.training and run is not None and run is self.live:
            if run.status in ("finished", "stopped"):
                self.sub_title = f"{run.model} · {run.status} · evaluating"
                return
            if run.status == "failed":
                self.sub_title = f"{run.model} · failed"
                return
            epoch = min(len(run.history) + 1, run.final_epoch)
            self.sub_title = f"training {run.model} · epoch {epoch}/{run.final_epoch}"
        elif run is None:
            self.sub_title = "ready"
        else:
            text = f"{run.model} · {run.status}"
            if run.evaluation is not None:
                text += f" · test {run.evaluation.test_accuracy:.4f}"
            if run.saved:
                text += f" · {run.run_id}"
            self.sub_title = text

    def _show_error(self, title: str, message: str) -> None:
        self.push_screen(ErrorScreen(title, message, self.log_path))

    # --- Actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # App keys stay out of dialogs: "t" in the help screen must not stack a dialog.
        if self.screen.is_modal and action in ("train", "stop", "export", "show_tab", "help"):
            return False
        return self._availability(action)

    def _availability(self, action: str) -> bool | None:
        """True: enabled; None: shown dimmed (it makes no sense right now)."""
        if action == "train":
            return None if self.training else True
        if action == "stop":
            return True if self.training and not self.stopping else None
        if action == "export":
            return True if self.has_results and not self.training else None
        return True

    def action_show_tab(self, tab: str) -> None:
        if tab not in TABS:
            return
        self.views.tabs.active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        target = {
            "train": "#log",
            "mistakes": "#mistakes-view",
            "confusion": "#confusion-table",
            "runs": "#runs-table",
        }[tab]
        self.query_one(target).focus()

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane_id = event.pane.id
        if pane_id in TABS and self.focused is None:
            self._focus_tab(pane_id)

    def action_train(self) -> None:
        if self.training:
            return
        previous = self._last_request
        dialog = TrainDialog(
            preset=self.preset,
            batch_size=previous.batch_size if previous else self.base_config.batch_size,
            epochs=previous.epochs if previous else self.base_config.epochs,
            patience=previous.patience if previous else self.base_config.patience,
            continue_option=self.continue_option,
            cursor_blink=self.cursor_blink,
        )
        self.push_screen(dialog, self._train_requested)

    def _train_requested(self, request: TrainRequest | None) -> None:
        if request is None or self.training:
            return
        self._last_request = request
        if request.continue_run:
            self.engine.submit(Continue(request.epochs, request.batch_size))
        else:
            self.preset = request.model
            config = self.base_config.with_changes(
                epochs=request.epochs,
                model=request.model,
                batch_size=request.batch_size,
                patience=request.patience,
            )
            self.engine.submit(Train(config))
        self.training = True
        self._awaiting_run = True
        if not self.engine_ready:
            self._progress().message = "Training starts once TensorFlow has loaded…"
        self.action_show_tab("train")

    def action_stop(self) -> None:
        if not self.training or self.stopping:
            return
        self.stopping = True
        self.engine.stop()
        self._note("Stopping after the current batch…")
        self._progress().progress = None
        self._progress().message = "Stopping after the current batch…"

    async def action_quit(self) -> None:
        if self.training:
            self.push_screen(ConfirmQuit(), self._quit_confirmed)
        else:
            self._shutdown_engine()
            self.exit(0)

    def _quit_confirmed(self, quit_app: bool | None) -> None:
        if quit_app:
            self._shutdown_engine()
            self.exit(0)

    def _shutdown_engine(self) -> None:
        self.engine.shutdown()

    def on_unmount(self) -> None:
        # However the app ends, the engine thread must end too: the process waits for it.
        self._shutdown_engine()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[HelpSection]:
        return [
            ("Everywhere", [*key_rows(self.BINDINGS), ("ctrl+p", "Command palette")]),
            (
                "Train dialog",
                [
                    ("enter", "Start"),
                    ("esc", "Cancel"),
                    ("tab", "Next field"),
                    ("↑ / ↓", "After a run: continue it, or start a new one"),
                ],
            ),
            ("Mistakes tab", key_rows(MistakesView.BINDINGS)),
            ("Confusion tab", [("arrows", "Move"), *key_rows(ConfusionTable.BINDINGS)]),
            ("Runs tab", [("↑ / ↓", "Move"), *key_rows(RunsTable.BINDINGS)]),
            ("Command palette", [(title, help_text) for title, help_text, _ in self._commands()]),
        ]

    def action_use_preset(self, preset: str) -> None:
        if preset not in MODEL_PRESETS:
            return
        self.preset = preset
        self._note(f"Model preset: {preset} (used by the next new run)")
        self.views.summary.show_message(f"Building {preset}…")
        self.engine.submit(Summarize(preset))

    def action_open_log(self) -> None:
        self.push_screen(LogScreen(self.log_path))

    def action_open_run(self) -> None:
        self.action_show_tab("runs")

    def action_save_screenshot(self) -> None:
        """Save an SVG of the screen as ``screenshot-<tab>.svg``.

        The folder is ``$FMNIST_SCREENSHOT_DIR`` or the current one (the README's pictures in
        ``assets/`` are made this way).
        """
        # Toasts (say, the last screenshot's) do not belong in the picture: clear them and
        # save once the screen has been redrawn without them.
        self.clear_notifications()
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        folder = os.environ.get("FMNIST_SCREENSHOT_DIR") or os.getcwd()
        tab = self.views.tabs.active or "app"
        try:
            path = self.save_screenshot(f"screenshot-{tab}.svg", folder)
        except OSError as error:
            self.notify(f"Screenshot not saved: {error.strerror or error}", severity="error")
            return
        self.notify(path, title="Screenshot saved")

    # --- Command palette --------------------------------------------------------------------

    def _commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) for the palette; the long tail of what keys do not cover."""
        commands = [
            ("Train: start…", "Open the training dialog (t)", "train"),
            ("Train: stop", "Stop after the current batch (s)", "stop"),
            ("Export: PNGs", "Accuracy/loss, misclassified grid, confusion matrix (e)", "export"),
        ]
        for preset in MODEL_PRESETS:
            commands.append(
                (
                    f"Model: use {preset} preset",
                    f"Build and show {preset}; new runs use it",
                    f"use_preset('{preset}')",
                )
            )
        commands += [
            ("Log: open", "Show the log file (TensorFlow's output goes there)", "open_log"),
            ("Run: open a saved run", "Pick a run on the Runs tab", "open_run"),
            ("Runs: refresh", "Read the runs folder again", "refresh_runs"),
            ("App: save screenshot", "Save an SVG of the screen (ctrl+s)", "save_screenshot"),
        ]
        return commands

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for title, help_text, action in self._commands():
            name = action.split("(")[0]
            if self._availability(name) is not True:
                continue

            def run(action: str = action) -> None:
                self.call_next(self.run_action, action)

            yield SystemCommand(title, help_text, run)
        yield from super().get_system_commands(screen)

    # --- Export, runs -----------------------------------------------------------------------

    def action_export(self) -> None:
        run = self.shown
        if run is None or not run.history or self.training:
            self.notify("Nothing to export yet: train or open a run first", severity="warning")
            return
        folder = run.run_dir or self.runs_dir / run.run_id
        self._note(f"Exporting PNGs to {folder}…")
        self._export(folder, tuple(run.history), run.evaluation, run.test_images)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def _export(
        self,
        folder: Path,
        history: tuple[EpochMetrics, ...],
        evaluation: Evaluation | None,
        test_images: npt.NDArray[np.uint8] | None,
    ) -> None:
        # matplotlib only, no TensorFlow: safe beside the engine thread.
        from core.export import ExportError, export_all

        try:
            paths = export_all(folder, history, evaluation, test_images)
        except (ExportError, OSError) as error:
            self.post_message(ExportFailed(str(error) or one_line(error)))
            return
        self.post_message(ExportFinished(paths))

    def on_export_finished(self, message: ExportFinished) -> None:
        for path in message.paths:
            self._note(f"Wrote {path}")
        self.notify("\n".join(str(path) for path in message.paths), title="Exported", timeout=8)

    def on_export_failed(self, message: ExportFailed) -> None:
        self._note(f"Export failed: {message.message}", "red")
        self.notify(message.message, title="Export failed", severity="error", timeout=10)

    def action_refresh_runs(self) -> None:
        self._list_runs()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", name="list runs")
    def _list_runs(self) -> None:
        from core.runs import RunError, list_runs

        try:
            listings = list_runs(self.runs_dir)
        except RunError as error:
            self.post_message(RunLoadFailed(str(error), "Saved runs could not be listed"))
            return
        self.post_message(RunsListed(listings))

    def on_runs_listed(self, message: RunsListed) -> None:
        self.views.runs.set_runs(message.listings)
        count = len(message.listings)
        self.views.runs_heading.update(
            f"{count} saved run{'s' if count != 1 else ''} in {self.runs_dir}"
            + (" · Enter opens one" if count else "")
        )

    @on(RunsTable.OpenRun)
    def _open_run(self, message: RunsTable.OpenRun) -> None:
        if self.training:
            self.notify("Stop training before opening another run", severity="warning")
            return
        self._load_run(message.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", name="open run")
    def _load_run(self, path: Path) -> None:
        from core.runs import RunError, load_run

        try:
            self.post_message(RunLoaded(load_run(path)))
        except RunError as error:
            self.post_message(RunLoadFailed(str(error)))

    def on_run_loaded(self, message: RunLoaded) -> None:
        saved = message.run
        run = RunView(
            run_id=saved.path.name,
            model=saved.config.model,
            run_dir=saved.path,
            batch_size=saved.config.batch_size,
            final_epoch=max(saved.planned_epochs, len(saved.history)),
            history=list(saved.history),
            evaluation=saved.evaluation,
            test_images=saved.test_images,
            status=saved.status,
            saved=True,
            early_stopping=saved.early_stopping,
        )
        self._show_run(run)
        self._progress().progress = None
        self._progress().message = self._idle_message()
        self._note(f"Opened {saved.path}")
        self._update_sub_title()
        self.action_show_tab("train")

    def on_run_load_failed(self, message: RunLoadFailed) -> None:
        self._show_error(message.title, message.message)

    @on(RunsTable.ResumeRun)
    def _resume_run(self, message: RunsTable.ResumeRun) -> None:
        run = message.run
        if self.training:
            self.notify("Stop training before resuming another run", severity="warning")
        elif run.problem:
            self.notify(f"{run.path.name} is damaged: {run.problem}", severity="error")
        elif run.status == "running":
            self.notify(f"{run.path.name} is being trained by another process", severity="warning")
        elif run.checkpoint_epoch is None:
            self.notify(
                f"{run.path.name} has no checkpoint to resume from (no epoch finished, or it "
                "was saved before checkpoints existed)",
                severity="warning",
            )
        elif run.unevaluated:
            # Trained, but never evaluated (killed at the end): nothing to ask.
            self._resume_requested(run.path, None, asked=False)
        else:
            self.push_screen(ResumeDialog(run), partial(self._resume_requested, run.path))

    def _resume_requested(self, path: Path, epochs: int | None, *, asked: bool = True) -> None:
        if (asked and epochs is None) or self.training:
            return
        self.engine.submit(Resume(path, epochs))
        self.training = True
        self._awaiting_run = True
        self._progress().progress = None
        self._progress().message = (
            f"Resuming {path.name}…"
            if self.engine_ready
            else "Resuming once TensorFlow has loaded…"
        )
        self.action_show_tab("train")

    @on(RunsTable.CompareRun)
    def _compare_run(self, message: RunsTable.CompareRun) -> None:
        label = message.path.name
        if self._charts()[0].overlay_label == label:
            for chart in self._charts():
                chart.set_overlay(None)
            self.notify(f"Removed the overlay of {label}")
            return
        if self.shown is not None and self.shown.run_id == label:
            self.notify("That run is the one on show: pick another to overlay", severity="warning")
            return
        self._load_overlay(message.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="overlay", name="overlay run")
    def _load_overlay(self, path: Path) -> None:
        from core.runs import RunError, load_run

        try:
            run = load_run(path)
        except RunError as error:
            self.post_message(RunLoadFailed(str(error)))
            return
        self.post_message(OverlayLoaded(path.name, run.history))

    def on_overlay_loaded(self, message: OverlayLoaded) -> None:
        if not message.history:
            self.notify(f"{message.label} has no finished epoch to draw", severity="warning")
            return
        started = parse_started(message.label)
        legend = f"{started:%H:%M}" if started else message.label[:8]
        for chart in self._charts():
            chart.set_overlay(message.label, message.history, legend=legend)
        self._note(
            f"Overlaid {message.label} (purple: train, grey: validation); c again removes it"
        )
        self.action_show_tab("train")

    # --- Confusion → mistakes ---------------------------------------------------------------

    @on(ConfusionView.CellSelected)
    def _cell_selected(self, message: ConfusionView.CellSelected) -> None:
        self.views.mistakes.set_filter(message.true_label, message.predicted_label)
        self.action_show_tab("mistakes")


def _driver_drawing_on(terminal: TextIO, driver_class: type[Driver]) -> type[Driver]:
    """``driver_class``, drawing on ``terminal`` instead of file descriptor 2.

    Textual's Linux driver draws the screen on ``sys.__stderr__``; while the app runs that
    descriptor points at the log file (to catch TensorFlow's C++ output), so the driver is
    handed the real terminal, which ``native_stderr_to`` keeps open for us.
    """
    from textual.drivers.linux_driver import LinuxDriver

    if driver_class is not LinuxDriver:
        return driver_class

    class TerminalDriver(LinuxDriver):
        def __init__(
            self,
            app: App[object],
            *,
            debug: bool = False,
            mouse: bool = True,
            size: tuple[int, int] | None = None,
        ) -> None:
            super().__init__(app, debug=debug, mouse=mouse, size=size)
            # native_stderr_to hands out a TextIOWrapper; TextIO is its declared type.
            self._file = cast("io.TextIOWrapper", terminal)

    return TerminalDriver


def run_app(
    *,
    model: str,
    data_dir: str | None,
    runs_dir: Path,
    limit_train: int | None,
    limit_test: int | None,
) -> int:
    """Run the app in this terminal; TensorFlow's output goes to a log file. Exit code."""
    from core.logs import default_log_path, native_stderr_to, quiet_tensorflow_env
    from tui.engine import TrainingEngine, default_loader

    try:
        base_config = TrainConfig(
            model=model, limit_train=limit_train, limit_test=limit_test, data_dir=data_dir
        )
    except ConfigError as error:
        print(f"fmnist-tui: {error}", file=sys.stderr)
        return 2
    quiet_tensorflow_env()
    log_path = default_log_path()
    engine = TrainingEngine(
        dataset_loader=default_loader(data_dir, limit_train=limit_train, limit_test=limit_test),
        runs_root=runs_dir,
        preset=model,
        data_config=base_config,
    )
    app = FmnistApp(
        engine=engine, runs_dir=runs_dir, preset=model, base_config=base_config, log_path=log_path
    )
    try:
        with native_stderr_to(log_path) as terminal:
            app.driver_class = _driver_drawing_on(terminal, app.driver_class)
            app.run()
    except OSError as error:
        print(f"fmnist-tui: cannot write the log {log_path}: {error}", file=sys.stderr)
        return 1
    code = app.return_code or 0
    if code:
        print(f"fmnist-tui: stopped on an error; details in {log_path}", file=sys.stderr)
    return code
