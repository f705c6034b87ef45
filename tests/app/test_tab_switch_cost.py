"""What a tab switch costs the UI thread, counted rather than timed.

Showing a tab must not rebuild the footer (Textual's ``Footer`` re-mounts every key on each
focus change, twice per switch) nor rebuild the charts' plotext figures. Counts, not times:
this machine's load would make a timed test flaky; ``bench/responsiveness.py`` has the times.
"""

from __future__ import annotations

import asyncio
from typing import Any

from helpers import charts_redrawn, finish_a_run
from textual import cache as textual_cache
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets._footer import FooterKey
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.tabs import TrainTab
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
            await finish_a_run(pilot, 3)
            # The run's last points are drawn on the chart timer, up to 1.5 s after the end:
            # count only what the switches cause.
            await charts_redrawn(pilot)
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


def test_showing_the_train_tab_again_redraws_only_what_changed(monkeypatch: Any) -> None:
    """The frame that shows the Train tab draws from Textual's caches: the model summary is
    not rebuilt (it was on every show), a chart that got new points while hidden is converted
    to lines once, after that frame (it was twice: the old figure, then the new), and strips
    make only the caches they use (seven each before)."""
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False)
    summary_updates: list[Widget] = []
    original_update = Static.update

    def counting_update(widget: Static, *args: Any, **kwargs: Any) -> None:
        if widget.id == "summary-body":
            summary_updates.append(widget)
        original_update(widget, *args, **kwargs)

    monkeypatch.setattr(Static, "update", counting_update)
    renders: list[MetricChart] = []
    replots: list[MetricChart] = []
    original_render, original_replot = MetricChart.render, MetricChart._replot

    def counting_render(chart: MetricChart) -> Any:
        renders.append(chart)
        return original_render(chart)

    def counting_replot(chart: MetricChart, max_train_points: int) -> None:
        replots.append(chart)
        original_replot(chart, max_train_points)

    monkeypatch.setattr(MetricChart, "render", counting_render)
    monkeypatch.setattr(MetricChart, "_replot", counting_replot)

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 3)
            # The run's last points are drawn on the chart timer, up to 1.5 s after the end:
            # count only what the switches cause.
            await charts_redrawn(pilot)
            await settle_on(pilot, "2")
            await settle_on(pilot, "1")
            strips, caches = count_strips_and_caches(monkeypatch)
            summary_updates.clear()
            for _ in range(3):
                await settle_on(pilot, "2")
                await settle_on(pilot, "1")
            assert summary_updates == [], "showing the tab rebuilt the model summary"
            assert strips, "no frame was drawn"
            assert len(caches) < len(strips), f"{len(caches)} caches for {len(strips)} strips"

            await settle_on(pilot, "2")
            charts = app.main.tab(TrainTab).charts
            for chart in charts:
                chart.add_batch(2.5, 0.5)
                assert chart.flush()
            renders.clear()
            replots.clear()
            await settle_on(pilot, "1")
            await pilot.pause()
            assert sorted(map(id, replots)) == sorted(map(id, charts)), "each chart once"
            assert sorted(map(id, renders)) == sorted(map(id, charts)), (
                "a chart was converted to lines twice (old figure, then new)"
            )
            assert (2.5, 0.5) in charts[0].train_points

            # On screen, a flush builds the figure at once, outside the frame that draws it:
            # the event loop is held twice briefly rather than once for both.
            replots.clear()
            renders.clear()
            charts[0].add_batch(2.6, 0.55)
            assert charts[0].flush()
            assert replots == [charts[0]], "the figure is built when flushed"
            await pilot.pause()
            assert replots == [charts[0]], "and not again when drawn"

    asyncio.run(run())


def count_strips_and_caches(monkeypatch: Any) -> tuple[list[object], list[object]]:
    strips: list[object] = []
    caches: list[object] = []
    original_strip, original_cache = Strip.__init__, textual_cache.FIFOCache.__init__

    def counting_strip(strip: Strip, *args: Any, **kwargs: Any) -> None:
        strips.append(None)
        original_strip(strip, *args, **kwargs)

    def counting_cache(cache: Any, *args: Any, **kwargs: Any) -> None:
        caches.append(None)
        original_cache(cache, *args, **kwargs)

    monkeypatch.setattr(Strip, "__init__", counting_strip)
    monkeypatch.setattr(textual_cache.FIFOCache, "__init__", counting_cache)
    return strips, caches
