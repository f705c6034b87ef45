"""The Train tab: device and data, progress, live accuracy and loss charts, model, log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Final

from textual.app import ComposeResult, RenderResult
from textual.containers import Container, Horizontal
from textual.widget import Widget
from textual.widgets import Static

from core.events import EpochMetrics
from tui.tabs.base import AppTab, TabContext
from tui.widgets.charts import ChartOverlay, MetricChart
from tui.widgets.log_pane import LogPane
from tui.widgets.progress_line import ProgressLine
from tui.widgets.summary import ModelSummaryView

if TYPE_CHECKING:
    from tui.state import AppState, Changes, RunView

TICK_S: Final = 0.25
"""The Train tab's drawing tick: the progress line moves with it (four times a second), and
the charts take turns on it, one per tick, so no frame builds both plotext figures."""
BATCH_REDRAW_S: Final = 1.0
"""While training, new running points redraw a chart at most once a second: at its first turn
a second or more after its last redraw, so every 1 to 1.5 s (a chart's turns come every half
second, and a turn that runs a millisecond early waits for the next). Each redraw takes UI
thread time that, on a small machine, training loses: BENCHMARKS.md's overhead table has the
app against ``fmnist-tui train`` at this rate. An epoch's end, a saved run, an overlay or a
marker still redraws at the chart's next turn (within half a second)."""


class StatusLine(Static):
    """The device and the data of the run on show, fitted to the line's width each time it
    is drawn (so a resize refits it): the sample counts stay whole where the folder would
    not fit."""

    def __init__(self, state: AppState, *, id: str | None = None) -> None:
        super().__init__(state.status_line(), id=id, markup=False)
        self._state = state

    def render(self) -> RenderResult:
        return self._state.status_line(self.content_size.width or None)


class TrainTab(AppTab):
    tab_id: ClassVar[str] = "train"
    title: ClassVar[str] = "Train"
    focus_selector: ClassVar[str] = "#log"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (
        ("#accuracy-chart", MetricChart),
        ("#loss-chart", MetricChart),
        ("#summary", ModelSummaryView),
        ("#log", LogPane),
        ("#progress", ProgressLine),
        ("#test-accuracy", Static),
        ("#status", StatusLine),
        ("#gpu", Static),
    )

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(number, state, context)
        self._redraws = 0
        self._progress_due = False
        """Training progress arrived since the progress line was last drawn."""

    def compose(self) -> ComposeResult:
        yield StatusLine(self.state, id="status")
        yield Static("", id="gpu", markup=False)
        with Horizontal(id="progress-row"):
            yield ProgressLine(id="progress")
            yield Static("", id="test-accuracy", markup=False)
        with Container(id="train-body"):
            with Container(id="charts"):
                yield MetricChart("accuracy", id="accuracy-chart")
                yield MetricChart("loss", id="loss-chart")
            runtime = self.state.runtime
            yield ModelSummaryView(f"Loading {runtime} to build the model…", id="summary")
            yield LogPane(self.context.log_path, id="log")

    def on_mount(self) -> None:
        self.widget("#gpu", Static).display = False
        self.summary.border_title = "Model"
        self.log_pane.border_title = "Log"
        self.test_accuracy.display = False
        self.set_interval(TICK_S, self._redraw_charts)

    # --- Widgets ----------------------------------------------------------------------------

    @property
    def charts(self) -> tuple[MetricChart, MetricChart]:
        return self.widget("#accuracy-chart", MetricChart), self.widget("#loss-chart", MetricChart)

    @property
    def summary(self) -> ModelSummaryView:
        return self.widget("#summary", ModelSummaryView)

    @property
    def log_pane(self) -> LogPane:
        return self.widget("#log", LogPane)

    @property
    def progress_line(self) -> ProgressLine:
        return self.widget("#progress", ProgressLine)

    @property
    def test_accuracy(self) -> Static:
        return self.widget("#test-accuracy", Static)

    @property
    def status(self) -> StatusLine:
        return self.widget("#status", StatusLine)

    # --- Drawing ----------------------------------------------------------------------------

    def _show_gpu(self, text: str | None) -> None:
        """The live GPU line (utilisation, memory, temperature), shown once a GPU reports."""
        gpu = self.widget("#gpu", Static)
        gpu.update(text or "")
        gpu.display = text is not None

    def show_progress(self, state: AppState) -> None:
        line = self.progress_line
        line.progress = state.progress
        if state.progress is None:
            line.message = state.message

    def _show_summary(self, state: AppState) -> None:
        if state.summary is None:
            self.summary.show_message(f"Building {state.summary_model}…")
        else:
            self.summary.set_summary(state.summary, state.summary_model)

    def show_run(self, run: RunView | None, state: AppState) -> None:
        history: Sequence[EpochMetrics] = run.history if run is not None else ()
        final_epoch = run.final_epoch if run is not None else 0
        marker = run.marker if run is not None else None
        for chart in self.charts:
            chart.set_history(history, final_epoch)
            chart.set_marker(marker)
        self._show_accuracy(run)

    def _show_accuracy(self, run: RunView | None) -> None:
        accuracy = self.test_accuracy
        # While a run trains on, its last evaluation is of weights it no longer has.
        if run is None or run.evaluation is None or run.status == "running":
            accuracy.display = False
            return
        accuracy.update(f"Test accuracy: {run.evaluation.test_accuracy:.4f}")
        accuracy.display = True

    def apply(self, changes: Changes, state: AppState) -> None:
        for text, style in changes.notes:
            self.log_pane.add(text, style)
        if changes.status:
            self.status.refresh()
        if changes.gpu:
            self._show_gpu(state.gpu_line)
        accuracy_chart, loss_chart = self.charts
        if changes.final_epoch is not None:
            for chart in self.charts:
                chart.set_final_epoch(changes.final_epoch)
        if changes.summary:
            self._show_summary(state)
        if changes.overlays:
            self._show_overlays(state)
        if changes.chart_point is not None:
            point = changes.chart_point
            accuracy_chart.add_batch(point.position, point.accuracy)
            loss_chart.add_batch(point.position, point.loss)
        if changes.epoch is not None:
            for chart in self.charts:
                chart.add_epoch(changes.epoch)
        if changes.marker and state.shown is not None:
            for chart in self.charts:
                chart.set_marker(state.shown.marker)
        if changes.evaluation:
            self._show_accuracy(state.shown)
        if changes.progress:
            if state.progress is not None and self.progress_line.progress is not None:
                # Batches report several times a second: draw them with the next chart tick,
                # in the same frame, not one frame each (every frame takes CPU from training).
                self._progress_due = True
            else:
                self.show_progress(state)

    def _redraw_charts(self) -> None:
        # One chart per tick, in turn: a frame that builds both plotext figures holds the
        # event loop (keys, the other tabs) twice as long.
        charts = self.charts
        self._redraws += 1
        with self.app.batch_update():
            if self._progress_due:
                self._progress_due = False
                self.show_progress(self.state)
            charts[self._redraws % len(charts)].flush(batch_interval=BATCH_REDRAW_S)

    # --- Overlays ---------------------------------------------------------------------------

    def _show_overlays(self, state: AppState) -> None:
        overlays = [
            ChartOverlay(overlay.label, overlay.legend or overlay.label, overlay.history)
            for overlay in state.overlays
        ]
        for chart in self.charts:
            chart.set_overlays(overlays)
