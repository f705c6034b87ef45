"""Home and End go to the first and last run of the Runs table."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from textual.app import App, ComposeResult

from core.runs.catalogue import RunListing
from tui.widgets.runs_table import RunsTable


def listing(number: int) -> RunListing:
    started = datetime(2026, 1, number, 12, 0)
    return RunListing(
        path=Path(f"/runs/202601{number:02d}-120000-seed"),
        started=started,
        model="seed",
        epochs=3,
        status="finished",
        test_accuracy=0.9,
        best_val_accuracy=0.9,
    )


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable()

    def on_mount(self) -> None:
        table = self.query_one(RunsTable)
        table.set_runs([listing(n) for n in range(1, 21)])
        table.focus()


def test_home_and_end_go_to_the_first_and_last_run() -> None:
    async def scenario() -> list[int]:
        app = TableApp()
        rows = []
        async with app.run_test(size=(100, 12)) as pilot:
            table = app.query_one(RunsTable)
            await pilot.press("down", "down")
            rows.append(table.cursor_row)
            await pilot.press("end")
            rows.append(table.cursor_row)
            await pilot.press("home")
            rows.append(table.cursor_row)
        return rows

    assert asyncio.run(scenario()) == [2, 19, 0]
