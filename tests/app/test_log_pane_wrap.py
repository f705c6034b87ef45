"""The log pane wraps at its own width, also for lines written while it is hidden."""

from __future__ import annotations

import asyncio

from helpers import text_of, wait_for
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.widgets.log_pane import LogPane

LINE = "Opened /tmp/fmnist-runs/20261201-213643-seed"
"""What opening a run from the Runs tab writes, while the Train tab is hidden."""


def test_lines_written_while_hidden_read_whole_once_shown() -> None:
    async def scenario() -> str:
        app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            log = app.query_one(LogPane)
            await pilot.press("4")
            await wait_for(pilot, lambda: log.region.width == 0, "the Train tab hidden")
            log.add(LINE)
            log.add("a second line, also written while hidden")
            await pilot.press("1")
            await wait_for(pilot, lambda: log.region.width > 0, "the Train tab shown")
            await pilot.pause()
            await pilot.pause()
            # The pane has 57 columns for text: each line fits on one row.
            return text_of(log, "\n")

    shown = asyncio.run(scenario())
    assert LINE in shown, shown
    assert "a second line, also written while hidden" in shown, shown
