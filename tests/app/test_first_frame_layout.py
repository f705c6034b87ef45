"""The first frame already has the layout of the terminal's size."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.main_screen import MainScreen


@pytest.mark.parametrize(
    ("size", "charts", "summary_beside"),
    [
        ((120, 40), (58, 34), True),  # wide and tall: charts stacked on the left
        ((100, 30), (100, 16), False),  # narrow: charts across the top
    ],
)
def test_the_first_frame_has_the_layout_of_its_size(
    size: tuple[int, int],
    charts: tuple[int, int],
    summary_beside: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual sets the breakpoint classes on the screen's first resize event, which came
    after the first frame (half a second after it in tmux): that frame drew the stacked
    layout, then the screen jumped to the real one."""
    frames: list[tuple[Any, Any]] = []
    display = FmnistApp._display

    def recording_display(app: FmnistApp, screen: Any, renderable: Any) -> None:
        if isinstance(screen, MainScreen) and not frames:
            frames.append((screen.query_one("#charts").region, screen.query_one("#summary").region))
        display(app, screen, renderable)

    monkeypatch.setattr(FmnistApp, "_display", recording_display)

    async def scenario() -> None:
        app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()

    asyncio.run(scenario())
    charts_region, summary_region = frames[0]
    assert charts_region.size == charts, frames[0]
    assert (summary_region.x >= charts_region.right) is summary_beside, frames[0]
