"""What a tab switch costs the UI thread, counted rather than timed.

Showing a tab must not rebuild the footer (Textual's ``Footer`` re-mounts every key on each
focus change, twice per switch) nor rebuild the charts' plotext figures. Counts, not times:
this machine's load would make a timed test flaky; ``bench/responsiveness.py`` has the times.
"""

from __future__ import annotations

import asyncio
from typing import Any

from helpers import wait_for
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.screens.train_dialog import TrainDialog
from tui.widgets.charts import MetricChart
from tui.widgets.footer import KeysFooter


def shown_keys(footer: KeysFooter) -> set[str]:
    """The descriptions of the footer keys on screen."""
    return {
        key.description
        for key in footer.query(FooterKey)
        if all(node.display for node in key.ancestors_with_self if isinstance(node, Widget))
    }


def test_switching_tabs_neither_rebuilds_the_footer_nor_the_charts(
    monkeypatch: Any,
) -> None:
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False)
    builds: list[MetricChart] = []
    original = MetricChart._replot

    def counting_replot(chart: MetricChart, max_train_points: int) -> None:
        builds.append(chart)
        original(chart, max_train_points)

    monkeypatch.setattr(MetricChart, "_replot", counting_replot)
    recomposed: list[Widget] = []
    original_recompose = Widget.recompose

    async def counting_recompose(widget: Widget) -> None:
        recomposed.append(widget)
        await original_recompose(widget)

    monkeypatch.setattr(Widget, "recompose", counting_recompose)

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.data_description is not None)
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog))
            app.screen.query_one("#epochs", Input).value = "3"
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.training and app.shown is not None)
            footer = app.query_one(KeysFooter)
            await settle_on(pilot, "2")
            assert "Order" in shown_keys(footer)
            await settle_on(pilot, "1")
            assert "Order" not in shown_keys(footer)
            assert "Train" in shown_keys(footer)
            rows, chart_builds = footer.rows_built, len(builds)
            recomposed.clear()
            for _ in range(3):
                await settle_on(pilot, "2")
                await settle_on(pilot, "1")
            assert footer.rows_built == rows, "a tab switch built footer keys again"
            assert recomposed == [], f"a tab switch recomposed {recomposed}"
            assert len(builds) == chart_builds, "a tab switch rebuilt a chart's figure"
            assert "Train" in shown_keys(footer)

    asyncio.run(run())


async def settle_on(pilot: Pilot[Any], key: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    await pilot.pause()
