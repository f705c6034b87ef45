"""The charts' key and overlaid runs: told apart without colour, and never hidden.

A chart on its own in a small app, at the sizes the Train tab gives it (58x17 at 120x40,
40x10 at 80x24).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest
from chart_reading import VALIDATION, read_chart
from textual.app import App, ComposeResult
from tui_fakes import fake_metrics

from core.events import EpochMetrics
from tui.widgets import charts
from tui.widgets.charts import (
    OVERLAY_TRAIN_MARKER,
    OVERLAY_VALIDATION_MARKER,
    ChartOverlay,
    MetricChart,
)

HISTORY = tuple(fake_metrics(epoch) for epoch in range(1, 9))


def nearly(history: Sequence[EpochMetrics], shift: float) -> tuple[EpochMetrics, ...]:
    """Another run much like ``history``: the overlay case that hid under the run on show."""
    return tuple(
        replace(m, accuracy=m.accuracy + shift, val_accuracy=m.val_accuracy + shift)
        for m in history
    )


class ChartApp(App[None]):
    def __init__(self, metric: str) -> None:
        super().__init__()
        self.metric = metric

    def compose(self) -> ComposeResult:
        yield MetricChart("accuracy" if self.metric == "accuracy" else "loss")


def drawn_lines(
    size: tuple[int, int], metric: str, overlays: Sequence[ChartOverlay] = (), live: bool = False
) -> list[str]:
    async def scenario() -> list[str]:
        app = ChartApp(metric)
        async with app.run_test(size=size) as pilot:
            chart = app.query_one(MetricChart)
            chart.set_history(HISTORY[:6] if live else HISTORY, 8)
            if live:
                for step in range(1, 10):
                    chart.add_batch(6 + step / 10, 0.93 if metric == "accuracy" else 0.3)
            chart.set_overlays(overlays)
            chart.flush()
            await pilot.pause()
            return read_chart(chart).lines

    return asyncio.run(scenario())


@pytest.mark.parametrize("size", [(58, 17), (40, 10)])
def test_train_and_validation_keys_differ_without_colour(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    text = "\n".join(drawn_lines(size, "loss", live=True))
    train = text.index(" train")
    validation = text.index(" validation")
    assert text[train - 1] != text[validation - 1], text
    assert text[train - 1] not in " ⠀" and text[validation - 1] == VALIDATION, text


@pytest.mark.parametrize("metric", ["accuracy", "loss"])
@pytest.mark.parametrize("size", [(58, 17), (50, 16), (40, 10)])
def test_the_key_covers_no_point(size: tuple[int, int], metric: str) -> None:
    """The loss curve starts top left, where plotext puts its legend: every epoch's
    validation point shows, whatever the size."""
    lines = drawn_lines(size, metric, live=True)
    drawn = read_chart_lines(lines)
    assert len(drawn) == 6, "\n".join(lines)


@pytest.mark.parametrize("metric", ["accuracy", "loss"])
@pytest.mark.parametrize("size", [(58, 17), (50, 16), (40, 10)])
def test_the_key_covers_no_line_either(
    size: tuple[int, int], metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each cell of the key is blank in the same figure drawn without it."""
    with_key = drawn_lines(size, metric, live=True)
    monkeypatch.setattr(charts, "_place_key", lambda items, grid: [])
    without = drawn_lines(size, metric, live=True)
    key_cells = [
        (row, column)
        for row, (keyed, bare) in enumerate(zip(with_key, without, strict=True))
        for column, (a, b) in enumerate(zip(keyed, bare, strict=True))
        if a != b
    ]
    assert key_cells, "no key drawn"
    covered = [(row, column) for row, column in key_cells if without[row][column] != " "]
    assert not covered, "\n".join(with_key + without)


def read_chart_lines(lines: list[str]) -> list[tuple[int, int]]:
    from chart_reading import Drawn

    top = next(i for i, line in enumerate(lines) if "┌" in line)
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    return Drawn(lines, top, axis, [], 8, []).markers(VALIDATION)


def test_several_overlays_show_each_with_its_label_over_the_run_on_show() -> None:
    overlays = [
        ChartOverlay("20260101-090000-seed", "09:00", nearly(HISTORY, 0.002)),
        ChartOverlay("20260102-100000-seed", "10:00", nearly(HISTORY, -0.002)),
    ]
    lines = drawn_lines((58, 17), "accuracy", overlays)
    text = "\n".join(lines)
    assert "09:00" in text and "10:00" in text, text
    canvas = "\n".join(lines[2:-2])
    # Runs this close share their cells: the overlays' epochs are drawn over this run's
    # lines, and their own markers say which points are theirs.
    assert canvas.count(OVERLAY_VALIDATION_MARKER) >= 8, text
    assert canvas.count(OVERLAY_TRAIN_MARKER) >= 8, text


def test_overlays_are_added_replaced_and_removed_by_key() -> None:
    chart = MetricChart("accuracy")
    first = ChartOverlay("a", "A", HISTORY[:2])
    chart.add_overlay(first)
    chart.add_overlay(ChartOverlay("b", "B", HISTORY[:3]))
    chart.add_overlay(ChartOverlay("a", "A2", HISTORY[:4]))
    assert [(o.key, o.legend, len(o.history)) for o in chart.overlays] == [
        ("a", "A2", 4),
        ("b", "B", 3),
    ]
    assert chart.overlay_label == "a"
    chart.remove_overlay("a")
    assert [o.key for o in chart.overlays] == ["b"]
    # The one-overlay call of before still works: it replaces them all.
    chart.set_overlay("c", HISTORY, legend="C")
    assert [o.key for o in chart.overlays] == ["c"] and chart.overlay_label == "c"
    chart.set_overlay(None)
    assert chart.overlays == () and chart.overlay_label is None
