"""The history PNG's legends sit outside the plotting area, so they cover no curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core import export
from core.events import EpochMetrics


def history(epochs: int) -> list[EpochMetrics]:
    """Loss falling from the top left, where a legend placed "best" still went."""
    return [
        EpochMetrics(
            epoch=e,
            loss=0.9 / e + 0.2,
            accuracy=0.95 - 0.25 / e,
            val_loss=0.8 / e + 0.3,
            val_accuracy=0.92 - 0.22 / e,
            seconds=2.0,
        )
        for e in range(1, epochs + 1)
    ]


@pytest.mark.parametrize("early_stopping", [None, {"stopped_epoch": 9, "best_epoch": 6}])
def test_each_legend_is_outside_its_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, early_stopping: dict[str, int] | None
) -> None:
    figures: list[Any] = []
    save = export._save

    def keep(figure: Any, path: Path) -> Path:
        figures.append(figure)
        return save(figure, path)

    monkeypatch.setattr(export, "_save", keep)
    export.plot_history(history(10), tmp_path / "h.png", early_stopping=early_stopping)
    (figure,) = figures
    renderer = figure.canvas.get_renderer()
    panels = [axes for axes in figure.axes if axes.get_legend() is not None]
    assert len(panels) == 2
    for axes in panels:
        legend = axes.get_legend().get_window_extent(renderer)
        plot = axes.get_window_extent(renderer)
        assert not legend.overlaps(plot), (legend, plot)
        # Still within the picture: nothing cut off at its edge.
        assert figure.bbox.contains(legend.x0, legend.y0), (legend, figure.bbox)
        assert figure.bbox.contains(legend.x1, legend.y1), (legend, figure.bbox)
