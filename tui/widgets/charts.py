"""Accuracy and loss by epoch, training against validation, drawn with plotext.

Each chart keeps its own series and redraws only when :meth:`MetricChart.flush` finds new
points, so the app can call ``flush`` from a capped-rate timer however fast progress arrives;
the figure itself is built when the chart is next painted (never while its tab is hidden),
from at most two points per braille dot column. Plotting goes through the widget's own
``plt`` (plotext's module API is global state) and happens on the UI thread only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final, Literal

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from core.events import EpochMetrics

Metric = Literal["accuracy", "loss"]

TRAIN_COLOUR: Final = 39
"""xterm-256 DeepSkyBlue1: reads on dark and light backgrounds, and without truecolor."""
VALIDATION_COLOUR: Final = 208
"""xterm-256 DarkOrange."""
OVERLAY_TRAIN_COLOUR: Final = 141
"""xterm-256 MediumPurple1: a compared run's curves, apart from the run on show."""
OVERLAY_VALIDATION_COLOUR: Final = 250
"""xterm-256 Grey74."""
MARKER_COLOUR: Final = 196
"""xterm-256 Red1: where early stopping ended the run."""
MAX_TRAIN_POINTS: Final = 2000
"""Fractional points kept per chart; older ones are thinned so long runs stay cheap."""
POINTS_PER_COLUMN: Final = 2
"""Training points plotted per terminal column: a braille cell is two dots wide, and
plotext's build time grows with the points (about 11 ms for 2,000, 2.5 ms for 120)."""


class MetricChart(PlotextPlot):
    """One metric by epoch: the running training value at fractional epochs, validation at
    whole epochs."""

    DEFAULT_CSS = """
    MetricChart {
        height: 1fr;
        width: 1fr;
        min-height: 6;
    }
    """

    def __init__(
        self,
        metric: Metric,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.metric: Metric = metric
        self._train: list[tuple[float, float]] = []
        self._validation: list[tuple[float, float]] = []
        self._final_epoch = 0
        self._dirty = True
        self._urgent = True
        """A change beyond new running training points (a whole history, an epoch's end, an
        overlay): drawn at the next flush, however recent the last build."""
        self._flushed_at = -math.inf
        """``time.monotonic()`` of the last flush that redrew, for ``batch_interval``."""
        self._generation = 0
        self._rendered: tuple[tuple[object, ...], RenderResult] | None = None
        self._hidden = False
        """Hidden (its tab is not on show) since the last build."""
        self._stale = False
        """New points came while hidden: the lines on record show the previous figure."""
        self._overlay: tuple[str, list[EpochMetrics]] | None = None
        self._overlay_legend = ""
        self._marker: int | None = None

    def _mark(self) -> None:
        self._dirty = True
        self._urgent = True

    @property
    def redraw_pending(self) -> bool:
        """Changes waiting for the chart timer's next flush (a hidden chart flushed meanwhile
        draws them when its tab is shown again)."""
        return self._dirty

    @property
    def title(self) -> str:
        return "Accuracy" if self.metric == "accuracy" else "Loss"

    @property
    def train_points(self) -> list[tuple[float, float]]:
        return list(self._train)

    @property
    def validation_points(self) -> list[tuple[float, float]]:
        return list(self._validation)

    @property
    def final_epoch(self) -> int:
        return self._final_epoch

    def reset(self, final_epoch: int = 0) -> None:
        """Forget every point; the x axis will run to ``final_epoch``."""
        self._train.clear()
        self._validation.clear()
        self._final_epoch = final_epoch
        self._mark()

    def set_final_epoch(self, final_epoch: int) -> None:
        self._final_epoch = final_epoch
        self._mark()

    def add_batch(self, fractional_epoch: float, value: float) -> None:
        """The running training value part-way through an epoch."""
        if not math.isfinite(value):
            return
        self._train.append((fractional_epoch, value))
        if len(self._train) > MAX_TRAIN_POINTS:
            # Keep every other old point: the curve keeps its shape at half the cost.
            half = len(self._train) // 2
            self._train[:half] = self._train[:half:2]
        self._dirty = True

    def add_epoch(self, metrics: EpochMetrics) -> None:
        """A finished epoch: its training value ends the line, validation gets a point."""
        train, validation = self._values(metrics)
        if math.isfinite(train):
            self._train.append((float(metrics.epoch), train))
        if math.isfinite(validation):
            self._validation.append((float(metrics.epoch), validation))
        self._final_epoch = max(self._final_epoch, metrics.epoch)
        self._mark()

    def set_history(self, history: Sequence[EpochMetrics], final_epoch: int = 0) -> None:
        """Show a whole history at once (a saved run), one point per epoch."""
        self.reset(max(final_epoch, len(history)))
        for metrics in history:
            self.add_epoch(metrics)

    @property
    def overlay_label(self) -> str | None:
        return None if self._overlay is None else self._overlay[0]

    def set_overlay(
        self, label: str | None, history: Sequence[EpochMetrics] = (), legend: str = ""
    ) -> None:
        """Draw another run's curves (one point per epoch) under this run's, or none.

        ``label`` names the run; ``legend``, short as the chart is narrow, goes in its key."""
        self._overlay = None if label is None else (label, list(history))
        self._overlay_legend = legend or (label or "")
        self._mark()

    def set_marker(self, epoch: int | None) -> None:
        """Mark the epoch where early stopping ended the run, or none."""
        self._marker = epoch
        self._mark()

    def flush(self, *, batch_interval: float = 0.0) -> bool:
        """Redraw if anything changed since the last redraw; say whether it did.

        With ``batch_interval``, new running training points alone (:meth:`add_batch`) wait
        until that many seconds have passed since the last build; any other change is drawn
        now.

        On screen, the figure is built now and turned into lines in the next frame: two
        short holds of the event loop (3-5 ms each on a 2-core machine) instead of one
        twice as long, so a key typed meanwhile waits less. A hidden chart keeps its last
        lines: the frame that shows its tab again draws them from Textual's line cache, and
        the new points follow just after it.
        """
        if not self._dirty:
            return False
        now = time.monotonic()
        if not self._urgent and now - self._flushed_at < batch_interval:
            return False
        self._dirty = self._urgent = False
        self._flushed_at = now
        self._generation += 1
        if self._hidden:
            self._stale = True
        else:
            self._build_now()
        return True

    def _build_now(self) -> None:
        if self.size.area:
            self._figure()
        self.refresh()

    def _key(self) -> tuple[object, ...]:
        """What the figure depends on: the data, the size and the theme."""
        return (self._generation, self.size.width, self.size.height, self.app.theme, self.theme)

    def _figure(self) -> RenderResult:
        key = self._key()
        rendered = self._rendered
        if rendered is None or rendered[0] != key:
            self._replot(max_train_points=POINTS_PER_COLUMN * max(self.size.width, 1))
            rendered = self._rendered = (key, super().render())
        return rendered[1]

    def render(self) -> RenderResult:
        # plotext rebuilds the whole figure on every call, and Textual calls render for every
        # repaint (tab switches, scrolling elsewhere): reuse the last build until the data,
        # the size or the theme changes.
        key = self._key()
        rendered = self._rendered
        if rendered is not None and self._hidden and rendered[0][1:] == key[1:]:
            # Back on screen with new points: show the last figure in this frame, which a
            # tab switch should not hold up, and draw the new points in the next one.
            self._hidden = False
            self.call_after_refresh(self.refresh)
            return rendered[1]
        self._hidden = False
        return self._figure()

    def on_hide(self) -> None:
        self._hidden = True

    def on_show(self) -> None:
        # Show arrives after the frame that showed the tab: the new points go in the next.
        self._hidden = False
        if self._stale:
            self._stale = False
            self._build_now()

    def on_mount(self) -> None:
        super().on_mount()
        self.flush()

    def _values(self, metrics: EpochMetrics) -> tuple[float, float]:
        if self.metric == "accuracy":
            return metrics.accuracy, metrics.val_accuracy
        return metrics.loss, metrics.val_loss

    def _replot(self, max_train_points: int) -> None:
        plt = self.plt
        plt.clear_data()
        # The x axis needs no label: "by epoch" is in the title, and at 80x24 a row matters.
        plt.title(f"{self.title} by epoch")
        right = max(self._final_epoch, 1)
        overlay = self._overlay
        if overlay is not None and overlay[1]:
            right = max(right, overlay[1][-1].epoch)
        plt.xlim(0, right)
        plt.xticks(_epoch_ticks(right))
        if overlay is not None and overlay[1]:
            label, history = self._overlay_legend, overlay[1]
            epochs = [float(m.epoch) for m in history]
            train, validation = zip(*(self._values(m) for m in history), strict=True)
            plt.plot(
                epochs, train, label=f"{label} train", color=OVERLAY_TRAIN_COLOUR, marker="braille"
            )
            plt.plot(
                epochs,
                validation,
                label=f"{label} val",
                color=OVERLAY_VALIDATION_COLOUR,
                marker="braille",
            )
        if self._marker is not None:
            plt.vline(self._marker, MARKER_COLOUR)
        if self._train:
            xs, ys = zip(*_thin(self._train, right, max_train_points), strict=True)
            plt.plot(xs, ys, label="train", color=TRAIN_COLOUR, marker="braille")
        if self._validation:
            xs, ys = zip(*self._validation, strict=True)
            plt.plot(xs, ys, label="validation", color=VALIDATION_COLOUR, marker="braille")
            plt.scatter(xs, ys, color=VALIDATION_COLOUR, marker="●")
        low, high = self._y_range()
        plt.ylim(low, high)

    def _y_range(self) -> tuple[float | None, float | None]:
        """The y range to show: once a first epoch is over, what came after it.

        The first batches of a run (accuracy near 0.1, loss near 2.3) would otherwise squeeze
        every later epoch, the part worth reading, into a row or two. The first epoch's early
        line then runs off the bottom (or top) of the chart.
        """
        if not self._train and not self._validation:
            return 0.0, 1.0  # an empty plot still needs a range to draw its axes
        later = [y for x, y in self._train if x >= 1.0] + [y for _, y in self._validation]
        if self._overlay is not None:
            later += [v for m in self._overlay[1] if m.epoch >= 1 for v in self._values(m)]
        if not any(x > 1.0 for x, _ in self._train) or len(later) < 2:
            return None, None  # plotext picks the range
        low, high = min(later), max(later)
        margin = max((high - low) * 0.08, 0.005)
        return low - margin, high + margin


def _thin(points: list[tuple[float, float]], right: float, most: int) -> list[tuple[float, float]]:
    """At most about ``most`` of ``points`` (sorted by x), the last in each of ``most`` equal
    slices of ``[0, right]``: what the chart can show at its width, at a fraction of the
    plotting cost. The last point is always kept."""
    if len(points) <= most:
        return points
    kept: list[tuple[float, float]] = []
    last_slice = -1
    scale = most / right
    for point in reversed(points):
        slice_ = int(point[0] * scale)
        if slice_ != last_slice:
            kept.append(point)
            last_slice = slice_
    kept.reverse()
    return kept


def _epoch_ticks(final_epoch: int, most: int = 10) -> list[float]:
    """Whole-epoch ticks from 0 to ``final_epoch``, at most ``most`` of them."""
    step = max(1, math.ceil(final_epoch / most))
    ticks: list[float] = list(range(0, final_epoch + 1, step))
    if ticks[-1] != final_epoch:
        ticks.append(final_epoch)
    return ticks
