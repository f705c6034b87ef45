"""The Textual app: train a Fashion-MNIST CNN and inspect what it got wrong.

The app owns the global keys, the command palette, the help screen, quitting and the engine
thread; each tab (``tui.tabs``) owns its widgets, keys and workers; the run state lives in a
Textual-free :class:`~tui.state.AppState` that the app feeds the engine's events and whose
changes it hands to the tabs to draw. Training runs in one long-lived engine thread
(``tui.engine``) that posts core events as messages. Importing this module is cheap: the ML
framework is imported by the engine thread after the first frame.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import SystemCommand
from textual.binding import BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.backend import framework_name
from core.config import MODEL_PRESETS, TrainConfig, default_batch_size
from core.files import one_line
from tui import fast_strips
from tui.bindings import app_bindings
from tui.commands import help_sections, palette_commands
from tui.engine import Continue, Engine, Resume, Summarize, Train, loading_runtime
from tui.keys import PacedKeysApp
from tui.main_screen import MIN_HEIGHT, MIN_WIDTH, TALL_HEIGHT, WIDE_WIDTH, MainScreen
from tui.messages import (
    DataFailed,
    DataReady,
    EngineCrashed,
    EngineError,
    EngineEvent,
    EngineIdle,
    EngineReady,
    EngineStatus,
    ExportFailed,
    ExportFinished,
    GpuSampled,
    RunLoaded,
    RunLoadFailed,
    SummaryReady,
)
from tui.screens.confirm import ConfirmQuit
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen, HelpSection
from tui.screens.log_view import LogScreen
from tui.screens.train_dialog import ContinueOption, TrainDialog, TrainRequest
from tui.state import AppState, Changes, RunView
from tui.tabs import AppTab, RunsTab, TabContext, TrainTab
from tui.tabs.base import Command

ANIMATIONS_ENV = "TEXTUAL_ANIMATIONS"
"""Textual's own setting (none, basic or full); the app uses none unless it is set."""


class FmnistApp(PacedKeysApp[int]):
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
    BINDINGS: ClassVar[list[BindingType]] = app_bindings()

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
        # Each frame made thousands of strips, each with seven caches it never used.
        fast_strips.install()
        if ANIMATIONS_ENV not in os.environ:
            # Over SSH an animation is a stream of frames for nothing: the tab underline's
            # slide drew about 20 of them after each tab switch. TEXTUAL_ANIMATIONS brings
            # it back.
            self.animation_level = "none"
        self.engine = engine
        self.cursor_blink = cursor_blink
        self.runs_dir = runs_dir
        self.base_config = base_config or TrainConfig(model=preset)
        self.log_path = log_path
        self.state = AppState(preset, runtime=framework_name())
        self.continue_option: ContinueOption | None = None
        self._last_request: TrainRequest | None = None
        self.main: MainScreen

    # --- State, as tests and tabs read it ---------------------------------------------------

    @property
    def preset(self) -> str:
        return self.state.preset

    @property
    def shown(self) -> RunView | None:
        return self.state.shown

    @property
    def live(self) -> RunView | None:
        return self.state.live

    @property
    def device(self) -> str | None:
        return self.state.device

    @property
    def data_description(self) -> str | None:
        return self.state.data_description

    @property
    def engine_ready(self) -> bool:
        return self.state.engine_ready

    def get_default_screen(self) -> MainScreen:
        context = TabContext(self.runs_dir, self.log_path, loading_runtime())
        self.main = MainScreen(self.state, context)
        return self.main

    @property
    def tabs(self) -> tuple[AppTab, ...]:
        return self.main.tabs

    @property
    def train_tab(self) -> TrainTab:
        return self.main.tab(TrainTab)

    @property
    def runs_tab(self) -> RunsTab:
        return self.main.tab(RunsTab)

    def on_mount(self) -> None:
        self.sub_title = self.state.sub_title()

    def on_main_screen_first_frame(self, message: MainScreen.FirstFrame) -> None:
        # The engine starts after the first frame is on screen: its ML-framework import holds
        # the GIL for seconds and would otherwise delay that frame.
        # What the first frame needed (modules, the widget tree, styles) lives as long as the
        # app: keep full collections, which stop every thread, from walking it each time.
        # Frozen objects are still freed by reference counting (see tui.engine).
        gc.freeze()
        self.engine.start_thread(self.post_message)
        self.runs_tab.refresh_runs()

    # --- Drawing what changed ---------------------------------------------------------------

    def _draw(self, changes: Changes) -> None:
        """Hand what an event changed to every tab, and show errors, toasts and titles."""
        if not self.screen_stack:
            return  # the app is shutting down: the state is up to date, nothing to draw on
        state = self.state
        if changes.shown_run:
            for tab in self.tabs:
                tab.show_run(state.shown, state)
        for tab in self.tabs:
            tab.apply(changes, state)
        self.has_results = state.has_results
        self.sub_title = state.sub_title()
        if changes.toast is not None:
            message, title = changes.toast
            self.notify(message, title=title)
        if changes.runs_saved:
            self.runs_tab.refresh_runs()
        if changes.error is not None:
            self._show_error(*changes.error)

    def _note(self, text: str, style: str = "") -> None:
        self.train_tab.note(text, style)

    def _show_error(self, title: str, message: str) -> None:
        self.push_screen(ErrorScreen(title, message, self.log_path))

    # --- Engine -----------------------------------------------------------------------------

    def on_engine_crashed(self, message: EngineCrashed) -> None:
        self._sync(self.state.engine_idle())
        self._show_error(
            "The training engine stopped",
            f"{message.message}\nRestart the app to train again.",
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.notify(one_line(worker.error), title=f"{worker.name} failed", severity="error")

    def _sync(self, changes: Changes) -> None:
        """Draw ``changes`` and bring the reactive flags (keys dimmed in the footer) in line
        with the state."""
        if not self.screen_stack:
            return  # shutting down: bindings cannot be refreshed without a screen
        self.training = self.state.training
        self.stopping = self.state.stopping
        self._draw(changes)

    def on_engine_status(self, message: EngineStatus) -> None:
        self.train_tab.show_status(self.state.status_line(message.text))

    def on_engine_ready(self, message: EngineReady) -> None:
        self._draw(self.state.ready(message.device))
        self.train_tab.show_status(self.state.status_line())

    def on_gpu_sampled(self, message: GpuSampled) -> None:
        self.train_tab.show_gpu(message.snapshot.line())

    def on_data_ready(self, message: DataReady) -> None:
        self._draw(self.state.data_ready(message.source, message.train, message.val, message.test))
        self.train_tab.show_status(self.state.status_line())

    def on_data_failed(self, message: DataFailed) -> None:
        self._draw(self.state.data_failed(message.message))
        self.train_tab.show_status(self.state.status_line())

    def on_summary_ready(self, message: SummaryReady) -> None:
        # A summary of another preset than the one now chosen is stale; a training run's own
        # summary (from TrainingStarted) wins while it is on show.
        if message.preset == self.state.preset and not self.state.training:
            self.train_tab.show_summary(message.summary, message.preset)

    def on_engine_error(self, message: EngineError) -> None:
        self._note(message.message, "red")
        self._show_error("Training could not run", message.message)

    def on_engine_idle(self, message: EngineIdle) -> None:
        if message.run_id is not None and message.model is not None:
            self.continue_option = ContinueOption(
                message.run_id, message.model, message.epochs_done
            )
        else:
            self.continue_option = None
        self._sync(self.state.engine_idle())

    def on_engine_event(self, message: EngineEvent) -> None:
        self._draw(self.state.apply(message.event))

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
        self.main.show_tab(tab)

    async def deferred_focus_applied(self, timeout: float) -> bool:
        # A tab is focused just after the frame that shows it: keys typed after the tab's
        # key go to the tab's widget, not to the one it replaced.
        return await self.main.focus_applied(timeout)

    def action_train(self) -> None:
        if self.training:
            return
        previous = self._last_request
        dialog = TrainDialog(
            preset=self.state.preset,
            batch_size=(previous.batch_size if previous else default_batch_size(self.state.preset)),
            epochs=previous.epochs if previous else self.base_config.epochs,
            patience=previous.patience if previous else self.base_config.patience,
            augment=previous.augment if previous else self.base_config.augment,
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
            self.state.preset = request.model
            config = self.base_config.with_changes(
                epochs=request.epochs,
                model=request.model,
                batch_size=request.batch_size,
                patience=request.patience,
                augment=request.augment,
            )
            self.engine.submit(Train(config))
        self._run_requested(f"Training starts once {self.state.runtime} has loaded…")

    def _run_requested(self, waiting: str, message: str | None = None) -> None:
        self.state.run_requested()
        self.training = True
        if not self.state.engine_ready:
            self.state.message = waiting
        elif message is not None:
            self.state.message = message
        self.state.progress = None
        self.train_tab.show_progress(self.state)
        self.action_show_tab(TrainTab.tab_id)

    @on(RunsTab.ResumeRequested)
    def _resume_requested(self, message: RunsTab.ResumeRequested) -> None:
        if self.training:
            return
        self.engine.submit(Resume(message.path, message.epochs))
        self._run_requested(
            f"Resuming once {self.state.runtime} has loaded…", f"Resuming {message.path.name}…"
        )

    def action_stop(self) -> None:
        if not self.training or self.stopping:
            return
        self.engine.stop()
        self._sync(self.state.stop_requested())

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
        return help_sections(self.BINDINGS, self.tabs, self._commands())

    def action_use_preset(self, preset: str) -> None:
        if preset not in MODEL_PRESETS:
            return
        self.state.preset = preset
        self._note(f"Model preset: {preset} (used by the next new run)")
        self.train_tab.show_building(preset)
        self.engine.submit(Summarize(preset))

    def action_open_log(self) -> None:
        self.push_screen(LogScreen(self.log_path))

    def action_refresh_runs(self) -> None:
        self.runs_tab.refresh_runs()

    def action_save_screenshot(self) -> None:
        self.main.save_screenshot_svg()

    # --- Command palette --------------------------------------------------------------------

    def _commands(self) -> list[Command]:
        """(title, help, action) for the palette; the long tail of what keys do not cover."""
        return palette_commands(self.tabs)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for title, help_text, action in self._commands():
            name = action.split("(")[0]
            if self._availability(name) is not True:
                continue

            def run(action: str = action) -> None:
                self.call_next(self.run_action, action)

            yield SystemCommand(title, help_text, run)
        yield from super().get_system_commands(screen)

    # --- Export -----------------------------------------------------------------------------

    def action_export(self) -> None:
        run = self.state.shown
        if run is None or not run.history or self.training:
            self.notify("Nothing to export yet: train or open a run first", severity="warning")
            return
        folder = run.run_dir or self.runs_dir / run.run_id
        self._note(f"Exporting PNGs to {folder}…")
        self._export(folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def _export(self, run_dir: Path) -> None:
        # matplotlib only, no ML framework: safe beside the engine thread. The PNGs are drawn
        # from the run folder, exactly as `fmnist-tui export` draws them.
        from core.export import ExportError, export_run
        from core.runs import RunError

        try:
            paths = export_run(run_dir)
        except (ExportError, RunError, OSError) as error:
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

    # --- Saved runs -------------------------------------------------------------------------

    def on_run_loaded(self, message: RunLoaded) -> None:
        # A saved run replaces the one on show (the Runs tab refuses while training).
        self._draw(self.state.open_saved(message.run))
        self.action_show_tab(TrainTab.tab_id)

    def on_run_load_failed(self, message: RunLoadFailed) -> None:
        self._show_error(message.title, message.message)
