"""Reading a drawn chart back: where each epoch's point is, and what the axes say.

Shared by the chart tests: the columns the x ticks give each epoch, the rows the y labels
give each value, and the cells plotext put each marker in, all read from the rendered strips.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from textual.geometry import Region

from tui.widgets.charts import MetricChart

TRAIN = "◆"
VALIDATION = "●"
_KEY_ENTRY = re.compile(r" [\w]")
"""After a marker, a space and a word: an entry of the key, not a point."""


@dataclass(frozen=True)
class Drawn:
    lines: list[str]
    top: int
    """The row of the frame's top edge; the canvas is the rows between it and ``axis``."""
    axis: int
    ticks: list[int]
    """The columns of the x ticks, epoch 0 first."""
    right: int
    """The last x tick's epoch."""
    y_labels: list[tuple[int, float, str]]
    """(row, value, text) of each y label, top first."""

    def epoch_column(self, epoch: float) -> float:
        first, last = self.ticks[0], self.ticks[-1]
        return first + (last - first) * epoch / self.right

    def row_of(self, value: float) -> float:
        """The row ``value`` is on, by the y labels."""
        (row_a, value_a, _), (row_b, value_b, _) = self.y_labels[0], self.y_labels[-1]
        return row_a + (value - value_a) * (row_b - row_a) / (value_b - value_a)

    def markers(self, marker: str) -> list[tuple[int, int]]:
        """(column, row) of each point drawn with ``marker`` (the key's own are left out)."""
        found = []
        for row in range(self.top + 1, self.axis):
            line = self.lines[row]
            for column, character in enumerate(line):
                if character == marker and not _KEY_ENTRY.match(line[column + 1 : column + 3]):
                    found.append((column, row))
        return found


def read_chart(chart: MetricChart) -> Drawn:
    strips = chart.render_lines(Region(0, 0, *chart.region.size))
    lines = [strip.text for strip in strips]
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    ticks = [i for i, character in enumerate(lines[axis]) if character == "┬"]
    right = int(lines[axis + 1].split()[-1])
    y_labels = []
    for row in range(top + 1, axis):
        label = lines[row].split("┤")[0] if "┤" in lines[row] else ""
        if label.strip():
            y_labels.append((row, float(label), label.strip()))
    return Drawn(lines, top, axis, ticks, right, y_labels)


def assert_drawn_where_they_are(chart: MetricChart) -> None:
    """Every epoch's validation point is drawn, and each drawn point (train or validation) is
    within half a cell of its epoch's column and of its value's row; the y labels are evenly
    spaced, in rows and in value."""
    drawn = read_chart(chart)
    where = f"{chart.metric} chart at {chart.size}:\n" + "\n".join(drawn.lines)
    assert len(drawn.ticks) == drawn.right + 1, where
    labels = drawn.y_labels
    assert len(labels) >= 2, where
    gaps = {b[0] - a[0] for a, b in itertools.pairwise(labels)}
    assert len(gaps) == 1, f"y labels unevenly spaced in rows {labels}\n{where}"
    steps = [a[1] - b[1] for a, b in itertools.pairwise(labels)]
    assert max(steps) - min(steps) < 1e-9 + 10 ** -len(labels[0][2].split(".")[-1]), (
        f"y labels unevenly spaced in value {labels}\n{where}"
    )
    for marker, points in (
        (VALIDATION, chart.validation_points),
        (TRAIN, chart.epoch_points),
    ):
        values = dict(points)
        seen = set()
        for column, row in drawn.markers(marker):
            epoch = round(
                (column - drawn.ticks[0]) * drawn.right / (drawn.ticks[-1] - drawn.ticks[0])
            )
            assert abs(column - drawn.epoch_column(epoch)) <= 0.5 + 1e-6, (
                f"{marker} at column {column}, epoch {epoch} is at "
                f"{drawn.epoch_column(epoch)}\n{where}"
            )
            assert float(epoch) in values, f"{marker} at column {column}: no epoch {epoch}\n{where}"
            expected_row = drawn.row_of(values[float(epoch)])
            assert abs(row - expected_row) <= 0.5 + 1e-6, (
                f"{marker} of epoch {epoch} ({values[float(epoch)]:.4f}) on row {row}, its "
                f"value's row is {expected_row:.2f}\n{where}"
            )
            seen.add(epoch)
        if marker == VALIDATION:
            # Train and validation can share a cell at small sizes (validation is drawn
            # over), but no validation point may be missing.
            assert seen == {round(x) for x in values}, f"validation points missing\n{where}"
