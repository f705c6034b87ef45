"""At 80x24 the model summary says how many layers are below the view, and reaches them."""

from __future__ import annotations

import asyncio

from helpers import wait_for
from tui_fakes import SEED_SUMMARY, ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.widgets.summary import ModelSummaryView


def test_layers_below_the_view_are_counted_and_reachable() -> None:
    async def scenario() -> list[str]:
        app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False)
        seen = []
        async with app.run_test(size=(80, 24)) as pilot:
            summary = app.query_one(ModelSummaryView)
            await wait_for(pilot, lambda: summary.summary is not None, "the summary")
            await wait_for(pilot, lambda: bool(summary.border_subtitle), "the hint")
            seen.append(str(summary.border_subtitle))
            # Reachable from the keyboard: tab to it, then down.
            for _ in range(5):
                if app.focused is summary:
                    break
                await pilot.press("tab")
            assert app.focused is summary
            await pilot.press("down")
            await pilot.pause()
            seen.append(str(summary.border_subtitle))
            await pilot.press("end")
            await pilot.pause()
            seen.append(str(summary.border_subtitle))
        return seen

    first, after_down, at_end = asyncio.run(scenario())
    # 16 rows high: the headline, the table's header and rule, then 3 of the 6 layers.
    assert first == "▼ 3 more layers", first
    assert after_down == "▼ 2 more layers", after_down
    assert at_end == "", at_end
    assert len(SEED_SUMMARY.rows) == 6
