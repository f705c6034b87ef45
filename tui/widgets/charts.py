"""Accuracy and loss by epoch, training against validation, drawn with plotext.

Each epoch is a point: its training mean (``◆``, the number the history, the log and the
exported PNG give) and its validation value (``●``). While an epoch runs, a thinner, dimmer line
follows the training batches, smoothed across the run (:mod:`tui.train_curve`). Other runs can
be overlaid, each with its own colours and hollow markers (``◇``, ``○``) drawn over this run's
points. The key goes in the corner of the canvas where it covers the fewest points and lines.

Each chart keeps its own series and redraws only when :meth:`MetricChart.flush` finds new
points, so the app can call ``flush`` from a capped-rate timer however fast progress arrives;
the figure itself is built when the chart is next painted (never while its tab is hidden),
from at most two points per braille dot column. Plotting goes through the widget's own
``plt`` (plotext's module API is global state) and happens on the UI thread only.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from core.events import EpochMetrics

Metric = Literal["accuracy", "loss"]

TRAIN_COLOUR: Final = 39
"""xterm-256 DeepSkyBlue1: reads on dark and light backgrounds, and without truecolor."""
LIVE_COLOUR: Final = 31
"""xterm-256 DeepSkyBlue3, a dimmer blue: the smoothed batches, under the epoch means."""
VALIDATION_COLOUR: Final = 208
"""xterm-256 DarkOrange."""
OVERLAY_COLOURS: Final = ((141, 250), (114, 180), (211, 109), (222, 146))
"""(train, validation) xterm-256 colours of the first, second... overlaid run: MediumPurple1
and Grey74 first, then PaleGreen3 and Tan, HotPink and LightSkyBlue4, Khaki and LightPink4."""
MARKER_COLOUR: Final = 196
"""xterm-256 Red1: where early stopping ended the run."""
TRAIN_MARKER: Final = "◆"
VALIDATION_MARKER: Final = "●"
OVERLAY_TRAIN_MARKER: Final = "◇"
OVERLAY_VALIDATION_MARKER: Final = "○"
LIVE_GLYPH: Final = "⠒"
"""The smoothed line's sign in the key: a braille stroke, as it is drawn."""
MARKERS: Final = TRAIN_MARKER + VALIDATION_MARKER + OVERLAY_TRAIN_MARKER + OVERLAY_VALIDATION_MARKER
MARKER_STYLE: Final = Style(italic=False)
"""Looks like no style; it keeps each marker apart from the braille strokes around it.

An SVG screenshot draws each run of equally styled cells as one ``<text>`` placed at its
first cell. Renderers that ignore ``textLength`` (librsvg, so ``rsvg-convert``) draw braille
from a fallback font whose advance is not one cell, and a run's later cells drift: a point
at epoch 4 reads as 3.6 or 4.2 in the picture. A marker styled apart starts a run of its
own, at its own cell.
"""
MAX_TRAIN_POINTS: Final = 2000
"""Smoothed points kept per chart; older ones are thinned so long runs stay cheap."""
POINTS_PER_COLUMN: Final = 2
"""Smoothed points plotted per terminal column: a braille cell is two dots wide, and
plotext's build time grows with the points (about 11 ms for 2,000, 2.5 ms for 120)."""
FRAME_ROWS: Final = 4
"""Rows of a figure that are not the canvas: the title, two axes, the x labels."""
NICE_STEPS: Final = (1.0, 2.0, 2.5, 5.0)
"""The y labels' steps, times a power of ten."""
MIN_SPAN: Final = 0.01
"""The least range of values the y axis spans: a flat curve is not blown up to fill it."""


@dataclass(frozen=True, slots=True)
class ChartOverlay:
    """Another run's epochs, drawn over the run on show."""

    key: str
    """Which run (its folder name): what :meth:`MetricChart.remove_overlay` goes by."""
    legend: str
    """Its name in the chart's key, short as the chart is narrow (say its start time)."""
    history: tuple[EpochMetrics, ...]


@dataclass(frozen=True, slots=True)
class _KeyItem:
    glyph: str
    colour: int
    label: str


class MetricChart(PlotextPlot):
    """One metric by epoch: the epoch means of training and validation, and the smoothed
    training batches of the epoch under way."""

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
        self._live: list[tuple[float, float]] = []
        """The smoothed training batches, at fractional epochs."""
        self._epochs: list[tuple[float, float]] = []
        """Each finished epoch's training mean, at its whole epoch."""
        self._validation: list[tuple[float, float]] = []
        self._final_epoch = 0
        self._dirty = True
        self._urgent = True
        """A change beyond new smoothed points (a whole history, an epoch's end, an overlay):
        drawn at the next flush, however recent the last build."""
        self._flushed_at = -math.inf
        """``time.monotonic()`` of the last flush that redrew, for ``batch_interval``."""
        self._generation = 0
        self._rendered: tuple[tuple[object, ...], RenderResult] | None = None
        self._hidden = False
        """Hidden (its tab is not on show) since the last build."""
        self._stale = False
        """New points came while hidden: the lines on record show the previous figure."""
        self._overlays: tuple[ChartOverlay, ...] = ()
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
        """Every training point, the smoothed batches and the epoch means, by position."""
        return sorted(self._live + self._epochs)

    @property
    def live_points(self) -> list[tuple[float, float]]:
        return list(self._live)

    @property
    def epoch_points(self) -> list[tuple[float, float]]:
        return list(self._epochs)

    @property
    def validation_points(self) -> list[tuple[float, float]]:
        return list(self._validation)

    @property
    def final_epoch(self) -> int:
        return self._final_epoch

    def reset(self, final_epoch: int = 0) -> None:
        """Forget every point; the x axis will run to ``final_epoch``."""
        self._live.clear()
        self._epochs.clear()
        self._validation.clear()
        self._final_epoch = final_epoch
        self._mark()

    def set_final_epoch(self, final_epoch: int) -> None:
        self._final_epoch = final_epoch
        self._mark()

    def add_batch(self, fractional_epoch: float, value: float) -> None:
        """The smoothed training value part-way through an epoch."""
        if not math.isfinite(value):
            return
        self._live.append((fractional_epoch, value))
        if len(self._live) > MAX_TRAIN_POINTS:
            # Keep every other old point: the curve keeps its shape at half the cost.
            half = len(self._live) // 2
            self._live[:half] = self._live[:half:2]
        self._dirty = True

    def add_epoch(self, metrics: EpochMetrics) -> None:
        """A finished epoch: a point for its training mean and one for validation."""
        train, validation = self._values(metrics)
        if math.isfinite(train):
            self._epochs.append((float(metrics.epoch), train))
        if math.isfinite(validation):
            self._validation.append((float(metrics.epoch), validation))
        self._final_epoch = max(self._final_epoch, metrics.epoch)
        self._mark()

    def set_history(self, history: Sequence[EpochMetrics], final_epoch: int = 0) -> None:
        """Show a whole history at once (a saved run, or a resumed one), one point per epoch."""
        self.reset(max(final_epoch, len(history)))
        for metrics in history:
            self.add_epoch(metrics)

    # --- Overlays ---------------------------------------------------------------------------

    @property
    def overlays(self) -> tuple[ChartOverlay, ...]:
        return self._overlays

    @property
    def overlay_label(self) -> str | None:
        """The first overlaid run's key, or ``None``."""
        return self._overlays[0].key if self._overlays else None

    def set_overlays(self, overlays: Sequence[ChartOverlay]) -> None:
        """Draw these runs' curves over this run's (one point per epoch), in this order; none
        with an empty sequence. Each gets the colours of its place (:data:`OVERLAY_COLOURS`)."""
        self._overlays = tuple(overlays)
        self._mark()

    def add_overlay(self, overlay: ChartOverlay) -> None:
        """Overlay one more run, or replace the one with the same key where it was."""
        keys = [o.key for o in self._overlays]
        overlays = list(self._overlays)
        if overlay.key in keys:
            overlays[keys.index(overlay.key)] = overlay
        else:
            overlays.append(overlay)
        self.set_overlays(overlays)

    def remove_overlay(self, key: str) -> None:
        self.set_overlays([o for o in self._overlays if o.key != key])

    def set_overlay(
        self, label: str | None, history: Sequence[EpochMetrics] = (), legend: str = ""
    ) -> None:
        """Draw one other run's curves (replacing any overlay), or none with ``None``."""
        if label is None:
            self.set_overlays([])
        else:
            self.set_overlays([ChartOverlay(label, legend or label, tuple(history))])

    def set_marker(self, epoch: int | None) -> None:
        """Mark the epoch where early stopping ended the run, or none."""
        self._marker = epoch
        self._mark()

    # --- Drawing ----------------------------------------------------------------------------

    def flush(self, *, batch_interval: float = 0.0) -> bool:
        """Redraw if anything changed since the last redraw; say whether it did.

        With ``batch_interval``, new smoothed training points alone (:meth:`add_batch`) wait
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
            figure = super().render()
            if isinstance(figure, Text):
                _set_markers_apart(figure)
            rendered = self._rendered = (key, figure)
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
        width, height = self.size
        rows = height - FRAME_ROWS
        empty = self._values_to_show() is None
        low, high, ticks, labels = _y_axis(*self._shown_range(), rows)
        plt.ylim(low, high)
        if not empty:  # an empty chart is a frame: no scale, no key, until a point comes
            plt.yticks(ticks, labels)
        columns = width - 2 - max(map(len, labels), default=0)
        # The x axis needs no label: "by epoch" is in the title, and at 80x24 a row matters.
        plt.title(f"{self.title} by epoch")
        right = max(
            [self._final_epoch, 1] + [o.history[-1].epoch for o in self._overlays if o.history]
        )
        plt.xlim(0, right)
        plt.xticks(_epoch_ticks(right))
        if self._marker is not None:
            plt.vline(self._marker, MARKER_COLOUR)
        live = _thin(self._live, right, max_train_points)
        overlays = [self._overlay_series(o) for o in self._overlays]
        # Lines first, then markers, each layer over the one before: a marker is one cell, so
        # every run's epochs show where their lines cross.
        lines: list[tuple[Sequence[tuple[float, float]], int]] = [(live, LIVE_COLOUR)]
        for index, (train, validation) in enumerate(overlays):
            train_colour, validation_colour = _overlay_colours(index)
            lines += [(train, train_colour), (validation, validation_colour)]
        # The epoch means are joined where no smoothed line runs (a saved run, a resumed
        # run's earlier epochs): two blue lines over the same epochs read as two curves.
        started = self._live[0][0] if self._live else math.inf
        joined = [point for point in self._epochs if point[0] <= started]
        lines += [(joined, TRAIN_COLOUR), (self._validation, VALIDATION_COLOUR)]
        # The overlays' markers last: a run asked for is not hidden under the one on show,
        # where the two share cells (runs of one model often do).
        points: list[tuple[Sequence[tuple[float, float]], int, str]] = [
            (self._epochs, TRAIN_COLOUR, TRAIN_MARKER),
            (self._validation, VALIDATION_COLOUR, VALIDATION_MARKER),
        ]
        for index, (train, validation) in enumerate(overlays):
            train_colour, validation_colour = _overlay_colours(index)
            points.append((train, train_colour, OVERLAY_TRAIN_MARKER))
            points.append((validation, validation_colour, OVERLAY_VALIDATION_MARKER))
        for series, colour in lines:
            if len(series) > 1:
                xs, ys = zip(*series, strict=True)
                plt.plot(xs, ys, color=colour, marker="braille")
        for series, colour, marker in points:
            if series:
                xs, ys = zip(*series, strict=True)
                plt.scatter(xs, ys, color=colour, marker=marker)
        if empty or columns < 2 or rows < 1:
            return
        grid = _Grid(columns, rows, right, low, high)
        for series, _ in lines:
            grid.cover_line(series)
        for series, _, _ in points:
            grid.cover_points(series)
        if self._marker is not None:
            grid.cover_column(self._marker)
        for column, row, item in _place_key(self._key_items(), grid):
            x, y = grid.position(column, row)
            plt.text(f"{item.glyph} {item.label}", x, y, color=item.colour, alignment="left")

    def _overlay_series(
        self, overlay: ChartOverlay
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        train: list[tuple[float, float]] = []
        validation: list[tuple[float, float]] = []
        for metrics in overlay.history:
            train_value, validation_value = self._values(metrics)
            if math.isfinite(train_value):
                train.append((float(metrics.epoch), train_value))
            if math.isfinite(validation_value):
                validation.append((float(metrics.epoch), validation_value))
        return train, validation

    def _key_items(self) -> list[_KeyItem]:
        items = [_KeyItem(TRAIN_MARKER, TRAIN_COLOUR, "train")]
        if self._live:
            items.append(_KeyItem(LIVE_GLYPH, LIVE_COLOUR, "batches"))
        items.append(_KeyItem(VALIDATION_MARKER, VALIDATION_COLOUR, "validation"))
        for index, overlay in enumerate(self._overlays):
            colour = _overlay_colours(index)[0]
            items.append(_KeyItem(OVERLAY_TRAIN_MARKER, colour, overlay.legend))
        return items

    def _shown_range(self) -> tuple[float, float]:
        """The values the y axis covers, without a margin: the axis rounds its ends outwards
        to whole rows of round values, which leaves room enough (:func:`_y_axis`)."""
        values = self._values_to_show()
        if values is None:
            return 0.0, 1.0
        low, high = min(values), max(values)
        if high - low < MIN_SPAN:
            middle = (low + high) / 2
            return middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
        return low, high

    def _values_to_show(self) -> list[float] | None:
        """Once a first epoch is over, what came after it; else every value; ``None``: none.

        The first batches of a run (accuracy near 0.1, loss near 2.3) would otherwise squeeze
        every later epoch, the part worth reading, into a row or two. The first epoch's early
        line then runs off the bottom (or top) of the chart.
        """
        train = self._live + self._epochs
        overlays = [
            (float(m.epoch), v) for o in self._overlays for m in o.history for v in self._values(m)
        ]
        every = [(x, y) for x, y in train + self._validation + overlays if math.isfinite(y)]
        if not every:
            return None
        later = [y for x, y in every if x >= 1.0]
        if any(x > 1.0 for x, _ in train) and len(later) >= 2:
            return later
        return [y for _, y in every]

    def _y_range(self) -> tuple[float | None, float | None]:
        """The y range with a margin: once a first epoch is over, what came after it (see
        :meth:`_values_to_show`); ``(None, None)`` before that."""
        train = self._live + self._epochs
        if not train and not self._validation:
            return 0.0, 1.0
        values = self._values_to_show()
        if values is None or not any(x > 1.0 for x, _ in train) or len(values) < 2:
            return None, None
        low, high = min(values), max(values)
        margin = max((high - low) * 0.08, 0.005)
        return low - margin, high + margin


def _overlay_colours(index: int) -> tuple[int, int]:
    return OVERLAY_COLOURS[index % len(OVERLAY_COLOURS)]


def _set_markers_apart(figure: Text) -> None:
    """Give each marker of a built figure :data:`MARKER_STYLE` (for SVG screenshots), with
    the space after it if there is one: a run that starts with a space loses it in an SVG
    (see :data:`tui.widgets.summary.ALIGNED`), and the key's ``◆ train`` would read
    ``◆train``."""
    plain = figure.plain
    for index, character in enumerate(plain):
        if character in MARKERS:
            end = index + 2 if plain[index + 1 : index + 2] == " " else index + 1
            figure.stylize(MARKER_STYLE, index, end)


class _Grid:
    """The canvas cells a figure's data are drawn on, to find room for the key.

    Columns count from the left, rows from the bottom, as plotext maps values to cells:
    markers to whole cells, braille lines to a grid of 2x4 dots a cell.
    """

    def __init__(self, columns: int, rows: int, right: float, low: float, high: float) -> None:
        self.columns = columns
        self.rows = rows
        self._right = right
        self._low = low
        self._span = high - low
        self.covered: set[tuple[int, int]] = set()

    def cell(self, x: float, y: float, *, dots: tuple[int, int] = (1, 1)) -> tuple[int, int]:
        across, down = dots
        column = math.floor(0.5 + (self.columns * across - 1) * x / self._right) // across
        fraction = (y - self._low) / self._span if self._span > 0 else 0.0
        row = math.floor(0.5 + (self.rows * down - 1) * fraction) // down
        return column, row

    def position(self, column: int, row: int) -> tuple[float, float]:
        """The value plotext maps to a cell: where to put text that starts there."""
        x = column * self._right / max(self.columns - 1, 1)
        y = self._low + row * self._span / max(self.rows - 1, 1)
        return x, y

    def cover_points(self, points: Sequence[tuple[float, float]]) -> None:
        self.covered.update(self.cell(x, y) for x, y in points)

    def cover_line(self, points: Sequence[tuple[float, float]]) -> None:
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            (c0, r0), (c1, r1) = self.cell(x0, y0), self.cell(x1, y1)
            steps = 2 * max(abs(c1 - c0), abs(r1 - r0)) + 1
            for step in range(steps + 1):
                t = step / steps
                x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
                self.covered.add(self.cell(x, y, dots=(2, 4)))

    def cover_column(self, x: float) -> None:
        column = self.cell(x, self._low)[0]
        self.covered.update((column, row) for row in range(self.rows))

    def count(self, left: int, bottom: int, width: int, height: int) -> int:
        """Covered cells in a box, and in the column either side of it."""
        return sum(
            (column, row) in self.covered
            for column in range(left - 1, left + width + 1)
            for row in range(bottom, bottom + height)
        )


def _place_key(items: Sequence[_KeyItem], grid: _Grid) -> list[tuple[int, int, _KeyItem]]:
    """Where each entry of the key goes: in the corner where it covers the fewest drawn
    cells, on one line or one entry a line, without the smoothed line's entry if that frees
    a corner. Returns (column, row, entry) for each entry drawn."""
    without_live = [i for i in items if i.glyph != LIVE_GLYPH]
    best: tuple[int, int, list[tuple[int, int, _KeyItem]]] | None = None
    order = 0
    for chosen in (items, without_live):
        texts = [f"{i.glyph} {i.label}" for i in chosen]
        one_line = (sum(map(len, texts)) + 2 * (len(texts) - 1), 1)
        stacked = (max(map(len, texts)), len(texts))
        for width, height in (one_line, stacked):
            if width > grid.columns - 2 or height > grid.rows:
                continue
            for bottom in (grid.rows - height, 0):
                for left in (1, grid.columns - 1 - width):
                    order += 1
                    covered = grid.count(left, bottom, width, height)
                    if best is not None and (covered, order) >= best[:2]:
                        continue
                    placed: list[tuple[int, int, _KeyItem]] = []
                    column = left
                    for index, (item, text) in enumerate(zip(chosen, texts, strict=True)):
                        if height == 1:
                            placed.append((column, bottom, item))
                            column += len(text) + 2
                        else:
                            placed.append((left, bottom + height - 1 - index, item))
                    best = (covered, order, placed)
    return [] if best is None else best[2]


def _y_axis(low: float, high: float, rows: int) -> tuple[float, float, list[float], list[str]]:
    """A y range covering ``[low, high]`` on ``rows`` canvas rows, and its ticks: round numbers
    an equal number of rows apart, each on the row that holds its value.

    plotext's own ticks are seven values spread over the range: on fewer rows than that two
    share a row and one label is lost, and on a few more the labels fall one or two rows
    apart, so equal steps of value read as unequal.
    """
    span = high - low
    if rows < 3 or not span > 0:
        return low, high, [], []
    best: tuple[float, int, float, float, float] | None = None
    # Labels two rows apart or more (one apart they crowd), and at least three where there
    # is room.
    for every in range(2, max(2, (rows - 1) // 3) + 1):
        # A tick every ``every`` rows: the smallest round step that spans the range.
        needed = span * every / (rows - 1)
        for step in _round_steps_from(needed):
            per_row = step / every
            bottom = math.floor(low / per_row + 1e-9) * per_row
            top = bottom + per_row * (rows - 1)
            if top >= high - 1e-12:
                break
        # The tightest range (the most rows per unit), then more labels.
        candidate = (top - bottom, every, bottom, top, step)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None
    _, _, bottom, top, step = best
    first = math.ceil(bottom / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(first, math.floor(top / step + 1e-9) + 1)]
    decimals = _decimals(step)
    labels = [f"{tick + 0.0:.{decimals}f}" for tick in ticks]
    return bottom, top, ticks, labels


def _round_steps_from(least: float) -> list[float]:
    """Round steps (1, 2, 2.5 and 5 times a power of ten) from the first at least ``least``."""
    power = 10.0 ** math.floor(math.log10(least))
    steps = [m * power * scale for scale in (1.0, 10.0, 100.0) for m in NICE_STEPS]
    return [s for s in steps if s >= least * (1 - 1e-9)]


def _decimals(step: float) -> int:
    """Decimals that write every multiple of ``step`` exactly (0.025: 3, 0.05: 2, 5: 0)."""
    for decimals in range(0, 10):
        if abs(round(step, decimals) - step) < step * 1e-6:
            return decimals
    return 10


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
