"""The Mistakes tab's "why was it wrong" panel, driven by the scripted engine: ten probability
bars with the true and the predicted class marked, what an old run without probabilities
shows, the heat map and neighbours once the engine's explanation arrives, only the newest of
quick cursor moves explained, the wait while training, the 80x24 layout and ``NO_COLOR``."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import finish_a_run, wait_for
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME
from textual.pilot import Pilot
from textual.widgets import Input
from tui_fakes import FAKE_RUN_ID, ScriptedEngine, fake_evaluation, missing_runs_dir

from core.config import TrainConfig
from core.evaluation import CLASS_NAMES, SHORT_CLASS_NAMES
from core.events import EpochMetrics
from core.runs.catalogue import load_run
from core.runs.layout import MODEL_FILE, save_config, save_evaluation, save_history
from tui.app import FmnistApp
from tui.engine import Explain
from tui.messages import Reported
from tui.reports import RunLoaded
from tui.screens.train_dialog import TrainDialog
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_detail import IMAGE_LINES, IMAGE_WIDTH, MistakesDetail
from tui.widgets.mistakes_pane import MistakesPane

WIDE = (120, 40)
MAP_COLUMNS = range(IMAGE_WIDTH + 2, 2 * IMAGE_WIDTH + 2)
"""Where the heat map is in the wide panel: right of the image and its gap."""


def make_app(engine: ScriptedEngine) -> FmnistApp:
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)


def panel(app: FmnistApp) -> MistakesDetail:
    return app.query_one(MistakesDetail)


def highlighted_index(app: FmnistApp) -> int:
    example = app.query_one(MistakesView).highlighted
    assert example is not None
    return example.index


async def on_the_mistakes_tab(pilot: Pilot[Any]) -> None:
    await pilot.press("2")
    app = pilot.app
    assert isinstance(app, FmnistApp)
    await wait_for(pilot, lambda: app.main.active_tab == "mistakes", "the tab", timeout=5)
    await app.main.focus_applied(5)
    await pilot.pause()


async def explained(pilot: Pilot[Any]) -> None:
    """Wait until the panel shows the explanation of the highlighted example."""
    app = pilot.app
    assert isinstance(app, FmnistApp)

    def shown() -> bool:
        subject = panel(app).subject
        return (
            subject is not None
            and subject.explained is not None
            and subject.explained.index == highlighted_index(app)
        )

    await wait_for(pilot, shown, "the explanation in the panel", timeout=10)
    await pilot.pause()


def bar_lines(text: str) -> dict[str, str]:
    """Each class's bar line in the panel's text, by class name."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        for name in CLASS_NAMES:
            if re.match(rf"{re.escape(name)}\s+[█▏▎▍▌▋▊▉·]*\s*[\d.]+%", line):
                found[name] = line
    return found


def test_the_panel_shows_ten_bars_with_the_true_and_predicted_classes_marked() -> None:
    app = make_app(ScriptedEngine(explain=False))

    async def scenario() -> None:
        async with app.run_test(size=WIDE) as pilot:
            await finish_a_run(pilot, 1)
            await on_the_mistakes_tab(pilot)
            view = app.query_one(MistakesView)
            example = view.highlighted
            assert example is not None and not example.correct
            await wait_for(pilot, lambda: panel(app).subject is not None, "the panel")
            await pilot.pause()
            text = panel(app).text
            bars = bar_lines(text)
            assert sorted(bars) == sorted(CLASS_NAMES), text
            assert bars[example.true_name].rstrip().endswith("true")
            assert bars[example.predicted_name].rstrip().endswith("pred")
            marked = [n for n, line in bars.items() if line.rstrip().endswith(("true", "pred"))]
            assert sorted(marked) == sorted({example.true_name, example.predicted_name})
            # The evaluation's probabilities: 82% for the prediction, 2% for every other class.
            assert "82.0%" in bars[example.predicted_name]
            assert "2.0%" in bars[example.true_name]
            # Which test image it is, as the gallery names it (a subset's place here).
            assert text.splitlines()[0].startswith(f"{example.title} · true {example.true_name}")
            # No explanation has come (this engine never answers): the panel says it waits.
            assert "Explaining" in text

    asyncio.run(scenario())


def saved_without_probabilities(folder: Path) -> Path:
    """A run folder as an older version wrote it: no per-class probabilities."""
    evaluation, images = fake_evaluation()
    folder.mkdir(parents=True)
    history = [EpochMetrics(1, 0.5, 0.8, 0.6, 0.75, 1.0)]
    save_config(folder, TrainConfig(epochs=1))
    save_history(folder, history, status="finished", planned_epochs=1)
    save_evaluation(folder, dataclasses.replace(evaluation, probabilities=None), images, 10)
    (folder / MODEL_FILE).write_bytes(b"not read: the scripted engine explains")
    return folder


def test_an_old_run_shows_what_it_knows_until_the_explanation_brings_every_probability(
    tmp_path: Path,
) -> None:
    gate = threading.Event()
    engine = ScriptedEngine(explain_gate=gate)
    app = make_app(engine)
    run_dir = saved_without_probabilities(tmp_path / "20250101-000000-seed")

    async def scenario() -> None:
        async with app.run_test(size=WIDE) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            app.post_message(Reported(RunLoaded(load_run(run_dir))))
            await wait_for(pilot, lambda: bool(app.state.shown and app.state.shown.saved))
            await app.main.focus_applied(5)
            await on_the_mistakes_tab(pilot)
            await wait_for(pilot, engine.explaining.is_set, "the engine to be asked")
            await pilot.pause()
            example = app.query_one(MistakesView).highlighted
            assert example is not None
            text = panel(app).text
            bars = bar_lines(text)
            # Only the prediction's confidence is known; the true class is marked, unknown.
            assert list(bars) == [example.predicted_name], text
            assert f"{example.confidence:.1%}" in bars[example.predicted_name]
            true_line = next(
                line for line in text.splitlines() if line.startswith(example.true_name)
            )
            assert "?" in true_line and true_line.rstrip().endswith("true")
            assert "not saved with this run" in text

            gate.set()  # the explanation computes every probability from the model
            await explained(pilot)
            assert sorted(bar_lines(panel(app).text)) == sorted(CLASS_NAMES)

    asyncio.run(scenario())


def coloured_cells(app: FmnistApp, lines: range, columns: range) -> list[tuple[str, Style]]:
    """The characters of the panel's ``lines`` within ``columns``, each with its style."""
    detail = panel(app)
    cells: list[tuple[str, Style]] = []
    for y in lines:
        x = 0
        for segment in detail.render_line(y):
            for char in segment.text:
                if x in columns:
                    cells.append((char, segment.style or Style()))
                x += 1
    return cells


def is_orange(style: Style) -> bool:
    for colour in (style.color, style.bgcolor):
        if colour is None or colour.triplet is None:
            continue
        red, green, blue = colour.triplet
        if red > 150 and red > green + 40 and green > blue:
            return True
    return False


def test_the_heat_map_and_the_nearest_images_arrive_from_the_engine_and_are_drawn() -> None:
    engine = ScriptedEngine()
    app = make_app(engine)

    async def scenario() -> None:
        async with app.run_test(size=WIDE) as pilot:
            await finish_a_run(pilot, 1)
            await on_the_mistakes_tab(pilot)
            await explained(pilot)
            example = app.query_one(MistakesView).highlighted
            assert example is not None
            asked = [c for c in engine.received if isinstance(c, Explain)]
            assert [c.index for c in asked] == [example.index]
            assert asked[0].run_id == FAKE_RUN_ID and asked[0].true_label == example.true_label

            map_cells = coloured_cells(app, range(1, 1 + IMAGE_LINES), MAP_COLUMNS)
            assert len(map_cells) == IMAGE_WIDTH * IMAGE_LINES
            # Evidence for the prediction (upper half) tints the map orange; what argued
            # against the true class (lower half) is shaded, so it reads without colour.
            upper = map_cells[: IMAGE_WIDTH * 6]
            lower = map_cells[IMAGE_WIDTH * 8 :]
            assert sum(is_orange(style) for _, style in upper) >= 20
            assert not any(char in "░▒▓" for char, _ in upper)
            assert sum(char in "░▒▓" for char, _ in lower) >= 10
            image_cells = coloured_cells(app, range(1, 1 + IMAGE_LINES), range(IMAGE_WIDTH))
            assert not any(is_orange(style) for _, style in image_cells), "the image stays grey"

            text = panel(app).text
            assert f"for {example.predicted_name}" in text
            assert f"against {example.true_name}" in text
            explanation = panel(app).subject.explained.explanation  # type: ignore[union-attr]
            names = [CLASS_NAMES[int(label)] for label in explanation.neighbour_labels]
            neighbours = text.split("Looked like")[1]
            for name, distance in zip(names, explanation.neighbour_distances, strict=True):
                assert f"{name} {1 - float(distance):.3f}" in neighbours
            # Their numbers in the training set, when the panel has a line to spare.
            assert "train #" not in neighbours
            await pilot.resize_terminal(120, 42)
            await wait_for(pilot, lambda: "train #3" in panel(app).text, "the numbers line")

    asyncio.run(scenario())


def test_ten_quick_cursor_moves_explain_only_the_last() -> None:
    gate = threading.Event()
    engine = ScriptedEngine(explain_gate=gate)
    app = make_app(engine)

    async def scenario() -> None:
        async with app.run_test(size=WIDE) as pilot:
            await finish_a_run(pilot, 1)
            await on_the_mistakes_tab(pilot)
            await wait_for(pilot, engine.explaining.is_set, "the first explanation to start")
            first = highlighted_index(app)
            for _ in range(10):
                await pilot.press("j")
            last = highlighted_index(app)
            assert last != first
            gate.set()
            await explained(pilot)
            asked = [c.index for c in engine.received if isinstance(c, Explain)]
            # The first was being made when the cursor moved; of the ten moves only the last
            # was served.
            assert asked == [first, last]

    asyncio.run(scenario())


def test_while_training_the_panel_says_the_heat_map_waits_and_keeps_the_bars() -> None:
    engine = ScriptedEngine(hold_in_epoch=3)
    app = make_app(engine)

    async def scenario() -> None:
        async with app.run_test(size=WIDE) as pilot:
            await finish_a_run(pilot, 2)
            await on_the_mistakes_tab(pilot)
            await explained(pilot)
            # Train the same model on: its explanations no longer describe it.
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "the dialog")
            app.screen.query_one("#epochs", Input).value = "2"
            await pilot.press("enter")
            await wait_for(pilot, engine.holding.is_set, "the run to hold in epoch 3")
            await on_the_mistakes_tab(pilot)
            await wait_for(
                pilot,
                lambda: (
                    "comes once training ends" in " ".join(panel(app).text.replace("▄", "").split())
                ),
                "the panel to say the heat map waits",
            )
            text = panel(app).text
            assert sorted(bar_lines(text)) == sorted(CLASS_NAMES)
            assert panel(app).subject.explained is None  # type: ignore[union-attr]
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the run to stop")
            await explained(pilot)

    asyncio.run(scenario())


def test_at_80x24_the_panel_hides_until_i_and_then_leaves_the_gallery_its_images() -> None:
    app = make_app(ScriptedEngine())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await finish_a_run(pilot, 1)
            await on_the_mistakes_tab(pilot)
            pane = app.query_one(MistakesPane)
            view = app.query_one(MistakesView)
            assert not pane.detail_visible and panel(app).region.width == 0
            await pilot.press("i")
            await explained(pilot)
            assert pane.detail_visible and panel(app).region.width > 40
            # The gallery keeps the cursor bar and a whole 28-pixel image.
            assert view.scrollable_content_region.width >= 2 + IMAGE_WIDTH
            text = panel(app).text
            # Beside the map, under short names: every class's probability.
            for name in SHORT_CLASS_NAMES:
                assert re.search(rf"{re.escape(name)}\s+[█▏▎▍▌▋▊▉·]*\s*[\d.]+%", text), name
            assert "Looked like" in text
            await pilot.press("i")
            await pilot.pause()
            assert not pane.detail_visible
            await pilot.press("j")  # the gallery still answers its keys
            await pilot.pause()
            assert view.cursor == 1

    asyncio.run(scenario())


HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})\b")


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_heat_map_reads_without_colour(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(ScriptedEngine())
    assert app.no_color == no_color

    async def scenario() -> tuple[str, int]:
        async with app.run_test(size=WIDE) as pilot:
            await finish_a_run(pilot, 1)
            await on_the_mistakes_tab(pilot)
            await explained(pilot)
            map_cells = coloured_cells(app, range(1, 1 + IMAGE_LINES), MAP_COLUMNS)
            return app.export_screenshot(), sum(char in "░▒▓" for char, _ in map_cells)

    svg, shaded = asyncio.run(scenario())
    # What argued against the true class is shading in the map, whatever the colours.
    assert shaded >= 10
    # The window's traffic lights and the terminal's own colours are the export's, not ours.
    cells = re.sub(r"<circle[^>]*/>", "", svg)
    theme = {SVG_EXPORT_THEME.foreground_color.hex, SVG_EXPORT_THEME.background_color.hex}
    colours = {m.group(0).lower() for m in HEX_COLOUR.finditer(cells)} - {c.lower() for c in theme}
    not_grey = {c for c in colours if not (c[1:3] == c[3:5] == c[5:7])}
    if not no_color:
        assert "#ff7a18" in not_grey, "the evidence's orange is drawn"
        return
    assert not_grey == set(), f"colours under NO_COLOR: {sorted(not_grey)}"
    # Without colour the legend still tells the two apart: by their characters and names.
    assert "against" in svg and "▒" in svg


def test_heat_maps_reuse_their_colours_from_one_explanation_to_the_next() -> None:
    """Every distinct colour pair of a heat map is a Style kept in caches (ours and Textual's),
    and long-lived objects are what every full garbage collection walks with the UI stopped:
    the colours are rounded, so that explaining one more image makes few new ones.

    Mutation caught: the colours unrounded (``rgb.round()``, as before): 74 new styles an
    explanation of these images instead of 20 (real test images: about 145 against 18)."""
    import numpy as np

    from core.data import synthetic_raw
    from tui.widgets import mistakes_detail_parts as parts

    images = synthetic_raw(train=10, test=60, seed=3).x_test
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:28, 0:28]

    def blob(strength: float) -> np.ndarray:
        row, col = rng.uniform(4, 24, 2)
        spread = rng.uniform(1.5, 3.0)
        return (strength * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / spread**2)).astype(
            np.float32
        )

    def draw(image: np.ndarray) -> list[Any]:
        return parts.heat_map_lines(image, blob(rng.uniform(0.5, 3)), blob(rng.uniform(0.3, 2)))

    parts._rgb_style.cache_clear()
    for image in images[:40]:
        draw(image)
    warm = parts._rgb_style.cache_info().misses
    lines = [draw(image) for image in images[40:]]
    new_per_map = (parts._rgb_style.cache_info().misses - warm) / len(lines)
    assert new_per_map < 40, f"{new_per_map:.0f} new styles an explanation"
    colours = {
        channel
        for drawn in lines
        for line in drawn
        for segment in line
        for colour in (segment.style.color, segment.style.bgcolor)
        for channel in colour.get_truecolor()
    }
    assert colours <= set(range(0, 256, parts.COLOUR_STEP))
