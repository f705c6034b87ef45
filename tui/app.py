"""The Textual app: train a Fashion-MNIST CNN and inspect what it got wrong.

The app owns the global keys, the command palette, the help screen, quitting and the engine
thread; each tab (``tui.tabs``) owns its widgets, keys and workers; the run state lives in a
Textual-free :class:`~tui.state.AppState`. Everything background work reports (the engine's
events and notices, the workers' results) arrives as one kind of message,
:class:`~tui.messages.Reported`, goes through the state, and the :class:`~tui.state.Changes` it
makes are handed to the tabs to draw. Training runs in one long-lived engine thread
(``tui.engine``). Importing this module is cheap: the ML framework is imported by the engine
thread after the first frame.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import numpy as np
from textual import on, work
from textual.app import SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.backend import framework_name
from core.config import ConfigError, TrainConfig
from core.files import one_line
from core.presets import DEFAULT_MODEL, PRESET_NAMES
from core.requests import ContinueRun, NewRun, ResumeRun, RunRequest
from tui import fast_strips
from tui.bindings import app_bindings
from tui.commands import help_sections, palette_commands
from tui.engine import Engine, loading_runtime
from tui.engine_commands import Explain, Predict, RunSweep, Summarize
from tui.keys import PacedKeysApp
from tui.main_screen import MIN_HEIGHT, MIN_WIDTH, TALL_HEIGHT, WIDE_WIDTH, MainScreen
from tui.messages import Reported
from tui.reports import ExportFailed, ExportFinished
from tui.screens.confirm import ConfirmQuit
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen, HelpSection
from tui.screens.log_view import LogScreen
from tui.screens.predict_dialog import PicturePaths, PredictDialog
from tui.screens.predictions import PredictionsScreen
from tui.screens.sweep_dialogs import StudyAsked, SweepAsked, SweepDialog, WatchStudyDialog
from tui.screens.train_dialog import TrainDialog
from tui.state import AppState, Changes, Notice
from tui.tabs import MistakesTab, RunsTab, SweepTab, TabContext
from tui.tabs.base import PaletteCommand
from tui.widgets.runs_table import RunsTable

TEXTUAL_COMMANDS_REPLACED = frozenset({"Screenshot", "Keys", "Quit"})
"""Textual's palette commands that the app's own (``tui.commands``) replace."""
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

    def __init__(
        self,
        *,
        engine: Engine,
        runs_dir: Path,
        base_config: TrainConfig | None = None,
        log_path: Path | None = None,
        cursor_blink: bool = True,
    ) -> None:
        """
        Args:
            engine: runs the training; a fake in snapshot tests.
            runs_dir: where runs are saved and listed.
            base_config: the model, data limits and other settings every new run starts from.
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
        self.base_config = base_config or TrainConfig()
        self.log_path = log_path
        self.state = AppState(
            self.base_config.model, runtime=framework_name(), data_config=self.base_config
        )
        self._last_asked: TrainConfig | None = None
        """What the dialog was last filled in with: its next defaults."""
        self._flags = (False, False, False)
        """(training, stopping, has results) as the footer's keys last showed them."""
        self.main: MainScreen

    def get_default_screen(self) -> MainScreen:
        context = TabContext(self.runs_dir, self.log_path, loading_runtime())
        self.main = MainScreen(self.state, context)
        return self.main

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
        self.main.tab(RunsTab).refresh_runs()

    # --- Reports and what they change -------------------------------------------------------

    def on_reported(self, message: Reported) -> None:
        """The one way background work changes the screen: through the state."""
        self.apply_changes(self.state.apply(message.report))

    def apply_changes(self, changes: Changes) -> None:
        """Hand ``changes`` to every tab, show its notices, and bring the keys in the footer
        (dimmed or not) in line with the state."""
        if not self.screen_stack:
            return  # the app is shutting down: the state is up to date, nothing to draw on
        state = self.state
        self.main.draw(changes)
        flags = (state.training, state.stopping, state.has_results)
        if flags != self._flags:
            self._flags = flags
            self.refresh_bindings()
            if not state.training and isinstance(self.screen, ConfirmQuit):
                # Its warning (training stops, the test set is not evaluated) is no longer
                # true once the run has ended under it; q now quits at once.
                self.screen.dismiss(None)
                self.notify("The run has ended: nothing is lost now, q quits", timeout=5)
        self.sub_title = state.sub_title()
        if changes.toast is not None:
            self._toast(changes.toast)
        if changes.runs_stale:
            self.main.tab(RunsTab).refresh_runs()
        elif changes.run_written is not None:
            self.main.tab(RunsTab).refresh_run_on_show(changes.run_written)
        if changes.show_tab is not None:
            self.main.show_tab(changes.show_tab)
        if changes.error is not None:
            self.push_screen(ErrorScreen(changes.error.title, changes.error.message, self.log_path))
        if changes.predictions is not None:
            self.push_screen(PredictionsScreen(changes.predictions))

    def _toast(self, notice: Notice) -> None:
        if notice.timeout is None:
            self.notify(notice.message, title=notice.title, severity=notice.severity)
        else:
            self.notify(
                notice.message, title=notice.title, severity=notice.severity, timeout=notice.timeout
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.notify(one_line(worker.error), title=f"{worker.name} failed", severity="error")

    # --- Actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # App keys stay out of dialogs: "t" in the help screen must not stack a dialog.
        if self.screen.is_modal and action in ("train", "stop", "export", "show_tab", "help"):
            return False
        return self._availability(action)

    def _availability(self, action: str) -> bool | None:
        """True: enabled; None: shown dimmed (it makes no sense right now)."""
        state = self.state
        if action == "train":
            return None if state.training else True
        if action == "stop":
            return True if state.training and not state.stopping else None
        if action == "export":
            return True if state.has_results and not state.training else None
        if action == "run_sweep":
            return None if state.training else True
        return True

    def action_show_tab(self, tab: str) -> None:
        self.main.show_tab(tab)

    async def deferred_focus_applied(self, timeout: float) -> bool:
        # A tab is focused just after the frame that shows it: keys typed after the tab's
        # key go to the tab's widget, not to the one it replaced.
        return await self.main.focus_applied(timeout)

    def action_train(self) -> None:
        if self.state.training:
            return
        model = self.state.model
        config = self._last_asked or self.base_config
        if self._last_asked is None or (config.model_file or config.model) != model:
            try:
                config = config.for_model(model)
            except ConfigError:  # the model file went away: the dialog says so in its field
                config = config.for_model(DEFAULT_MODEL)
        dialog = TrainDialog(
            config, continuation=self.state.continuation(), cursor_blink=self.cursor_blink
        )
        self.push_screen(dialog, self._train_requested)

    def _train_requested(self, request: RunRequest | None) -> None:
        if request is None or self.state.training:
            return
        asked = self._last_asked or self.base_config
        if isinstance(request, NewRun):
            self._last_asked = request.config
            self.state.model = request.config.model_file or request.config.model
        elif isinstance(request, ContinueRun):
            self._last_asked = asked.with_changes(
                epochs=request.epochs, batch_size=request.batch_size or asked.batch_size
            )
        elif request.epochs is not None:
            self._last_asked = asked.with_changes(epochs=request.epochs)
        self.engine.submit(request)
        self.apply_changes(
            self.state.run_requested(f"Training starts once {self.state.runtime} has loaded…")
        )

    @on(RunsTab.ResumeRequested)
    def _resume_requested(self, message: RunsTab.ResumeRequested) -> None:
        if self.state.training:
            return
        self.engine.submit(ResumeRun(message.path, message.epochs))
        self.apply_changes(
            self.state.run_requested(
                f"Resuming once {self.state.runtime} has loaded…", f"Resuming {message.path.name}…"
            )
        )

    @on(RunsTable.CompareRun)
    def _compare_run(self, message: RunsTable.CompareRun) -> None:
        label = message.path.name
        state = self.state
        if state.has_overlay(label):
            self.apply_changes(state.remove_overlay(label))
        elif state.shown is not None and state.shown.run_id == label:
            self.notify("That run is the one on show: pick another to overlay", severity="warning")
        else:
            self.main.tab(RunsTab).load_overlay(message.path)

    @on(MistakesTab.ExplainWanted)
    def _explain_wanted(self, message: MistakesTab.ExplainWanted) -> None:
        state = self.state
        run = state.shown
        request = state.request_explanation(message.index)
        if request is None or run is None or run.evaluation is None or run.test_images is None:
            return
        self.engine.submit(
            Explain(
                run_id=run.run_id,
                index=message.index,
                request_id=request,
                image=np.array(run.test_images[message.index], dtype=np.uint8),
                true_label=int(run.evaluation.labels[message.index]),
                run_dir=run.run_dir,
                config=run.config,
            )
        )

    def action_predict_files(self) -> None:
        run = self.state.shown
        if run is None or not self.state.can_explain(run):
            self.notify(
                "Train or open a run first: its model classifies the pictures",
                severity="warning",
            )
            return
        self.push_screen(PredictDialog(run.run_id), self._predict_requested)

    def _predict_requested(self, asked: PicturePaths | None) -> None:
        run = self.state.shown
        if asked is None or run is None:
            return
        self.engine.submit(Predict(asked.paths, run.run_id, run.run_dir, run.config))
        count = len(asked.paths)
        what = f"{count} path{'s' if count != 1 else ''}"
        if self.state.training:
            self.notify(f"Classifying {what} once training ends…", timeout=5)
        else:
            self.notify(f"Classifying {what} with {run.run_id}…", timeout=3)

    def action_stop(self) -> None:
        if not self.state.training or self.state.stopping:
            return
        if self.state.sweep is not None and not self.state.sweep_stopping:
            # A sweep ends after its current trial; s again stops that trial too.
            self.engine.stop_after_trial()
            self.apply_changes(self.state.sweep_stop_requested())
            return
        self.engine.stop()
        self.apply_changes(self.state.stop_requested())

    async def action_quit(self) -> None:
        if self.state.training:
            sweep = self.state.sweep
            study = None if sweep is None else sweep.study or sweep.space.stem
            live = self.state.live
            saving = live is not None and live.status in ("finished", "stopped")
            self.push_screen(ConfirmQuit(sweep=study, saving=saving), self._quit_confirmed)
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
        return help_sections(self.BINDINGS, self.main.tabs, self._commands())

    def action_use_preset(self, preset: str) -> None:
        if preset not in PRESET_NAMES:
            return
        self.apply_changes(self.state.choose_model(preset))
        self.engine.submit(Summarize(preset))

    def action_open_log(self) -> None:
        self.push_screen(LogScreen(self.log_path))

    def action_refresh_runs(self) -> None:
        self.main.tab(RunsTab).refresh_runs()

    def action_save_screenshot(self) -> None:
        self.main.save_screenshot_svg()

    # --- Sweeps -----------------------------------------------------------------------------

    def action_watch_study(self) -> None:
        watched = self.state.watched
        dialog = WatchStudyDialog(self.runs_dir, watched.storage, watched.study)
        self.push_screen(dialog, self._watch_asked)

    def _watch_asked(self, asked: StudyAsked | None) -> None:
        if asked is None:
            return
        self.apply_changes(self.state.watch_study(asked.storage, asked.study))
        self.main.show_tab(SweepTab.tab_id)

    @on(SweepTab.WatchRequested)
    def _watch_requested(self, message: SweepTab.WatchRequested) -> None:
        self.apply_changes(self.state.watch_study(message.storage, message.study))

    def action_run_sweep(self) -> None:
        if self.state.training:
            return
        self.push_screen(SweepDialog(self.runs_dir), self._sweep_asked)

    def _sweep_asked(self, asked: SweepAsked | None) -> None:
        if asked is None or self.state.training:
            return
        self.engine.submit(RunSweep(asked.space, asked.trials, asked.storage, asked.study))
        waiting = f"The sweep starts once {self.state.runtime} has loaded…"
        self.apply_changes(self.state.sweep_requested(asked.space, asked.storage or "", waiting))

    # --- Command palette --------------------------------------------------------------------

    def _commands(self) -> list[PaletteCommand]:
        """(title, help, action) for the palette; the long tail of what keys do not cover."""
        return palette_commands(self.main.tabs)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for title, help_text, action in self._commands():
            name = action.split("(")[0]
            if self._availability(name) is not True:
                continue

            def run(action: str = action) -> None:
                self.call_next(self.run_action, action)

            yield SystemCommand(title, help_text, run)
        # Textual's own "Screenshot", "Keys" and "Quit" do what ours do differently (its
        # screenshot goes elsewhere, its key list lacks the tabs' keys): ours only.
        for command in super().get_system_commands(screen):
            if command.title not in TEXTUAL_COMMANDS_REPLACED:
                yield command

    # --- Export -----------------------------------------------------------------------------

    def action_export(self) -> None:
        run = self.state.shown
        if run is None or not self.state.has_results or self.state.training:
            self.notify("Nothing to export yet: train or open a run first", severity="warning")
            return
        folder = run.run_dir or self.runs_dir / run.run_id
        self.apply_changes(self.state.export_started(folder))
        self._export(folder)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def _export(self, run_dir: Path) -> None:
        # matplotlib only, no ML framework: safe beside the engine thread. The PNGs are drawn
        # from the run folder, exactly as `fmnist-tui export` draws them.
        from core.errors import ExportError, RunError
        from core.export import export_run

        try:
            paths = export_run(run_dir)
        except (ExportError, RunError, OSError) as error:
            self.post_message(Reported(ExportFailed(str(error) or one_line(error))))
            return
        self.post_message(Reported(ExportFinished(tuple(paths))))
