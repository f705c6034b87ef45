"""The model pane reads right in the terminal and in SVG screenshots (the README's)."""

from __future__ import annotations

import asyncio
import re

from helpers import text_of
from textual.app import App, ComposeResult

from core.summary import LayerRow, ModelSummary
from tui.widgets.summary import ModelSummaryView

SUMMARY = ModelSummary(
    model_name="seed",
    rows=(
        LayerRow("conv2d", "Conv2D", "(None, 26, 26, 32)", 320),
        LayerRow("dense", "Dense", "(None, 10)", 394_210),
    ),
    total_params=394_530,
    trainable_params=394_530,
    non_trainable_params=0,
)


class SummaryApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ModelSummaryView()

    def on_mount(self) -> None:
        self.query_one(ModelSummaryView).set_summary(SUMMARY, "seed")


def test_header_and_numbers_survive_an_svg_screenshot() -> None:
    """Each ``<text>`` in the SVG is placed at its first cell, and SVG renderers (librsvg,
    browsers) drop its leading spaces: a text must not start with one, or the words after it
    shift left (``394,530trainable``, right-aligned params pulled into the column's start)."""

    async def scenario() -> None:
        app = SummaryApp()
        async with app.run_test(size=(70, 10)) as pilot:
            await pilot.pause()
            lines = text_of(app.query_one("#summary-body"), "\n").splitlines()
            assert lines[0] == "seed  394,530 trainable params"
            assert lines[-1] == "Total 394,530 · Trainable 394,530 · Non-trainable 0"
            assert lines[-2].endswith(" 394,210") and lines[-3].endswith("    320")
            texts = re.findall(r"<text[^>]*>([^<]*)</text>", app.export_screenshot())
            assert "394,530" in "".join(texts)
            assert [text for text in texts if text.startswith("&#160;")] == []

    asyncio.run(scenario())
