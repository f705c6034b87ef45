"""The Runs tab lists a folder where one run is damaged: that run says so, the other opens."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from helpers import text_of, wait_for
from textual.widgets import DataTable
from tui_fakes import ScriptedEngine, fake_evaluation, fake_metrics

from core.config import TrainConfig
from core.runs.layout import (
    EVALUATION_NPZ,
    MODEL_FILE,
    create_run_dir,
    save_evaluation,
    save_history,
)
from tui.app import FmnistApp


def finished_run(runs: Path, second: int) -> Path:
    run_dir = create_run_dir(runs, TrainConfig(epochs=3), now=datetime(2025, 1, 2, 3, 4, second))
    save_history(run_dir, [fake_metrics(e) for e in (1, 2, 3)], status="finished", planned_epochs=3)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


def test_a_damaged_run_is_a_row_of_its_own(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    good = finished_run(runs, 1)
    damaged = finished_run(runs, 2)
    npz = damaged / EVALUATION_NPZ
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])  # cut short by a full disk
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            table = app.query_one("#runs-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 2, "two rows", timeout=10)
            statuses = {str(key.value): str(table.get_cell(key, "status")) for key in table.rows}
            assert statuses[str(damaged)] == "damaged"
            assert statuses[str(good)] == "finished"
            assert "2 saved runs" in text_of(app.query_one("#runs-heading"))

    asyncio.run(scenario())
