"""Enter on a diagonal cell of the Confusion tab shows that class's correct predictions in the
gallery, beside its mistakes; a saved run, which keeps only its mistakes' images, says so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from helpers import finish_a_run, wait_for
from textual.pilot import Pilot
from textual.widgets import Static
from tui_fakes import ScriptedEngine, missing_runs_dir

from core.runs.catalogue import load_run
from tui.app import FmnistApp
from tui.messages import Reported
from tui.reports import RunLoaded
from tui.widgets.confusion import ConfusionView
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_list import NOT_SAVED_MESSAGE, ExampleFilter

SHIRT = 6


def make_app(engine: ScriptedEngine | None = None) -> FmnistApp:
    return FmnistApp(
        engine=engine or ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False
    )


async def enter_on_cell(pilot: Pilot[Any], true: int, predicted: int) -> None:
    app = pilot.app
    assert isinstance(app, FmnistApp)
    await pilot.press("3")
    await wait_for(pilot, lambda: app.main.active_tab == "confusion", "the tab", timeout=5)
    # Where the focus lands after a tab switch is another test's promise (test_key_bursts);
    # here only Enter on the cell is under test.
    table = app.query_one(ConfusionView).table
    table.focus()
    table.move_cursor(row=true, column=predicted)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: pilot.app.main.active_tab == "mistakes", "the Mistakes tab", timeout=5
    )
    await pilot.pause()


def status(app: FmnistApp) -> str:
    return str(app.query_one("#mistakes-status", Static).render())


def test_enter_on_a_diagonal_cell_shows_the_class_correct_examples() -> None:
    app = make_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 1)
            evaluation = app.state.shown.evaluation if app.state.shown else None
            assert evaluation is not None
            right = int(evaluation.confusion[SHIRT, SHIRT])
            wrong = int(evaluation.confusion[SHIRT].sum()) - right
            assert right and wrong

            await enter_on_cell(pilot, SHIRT, SHIRT)
            view = app.query_one(MistakesView)
            assert view.filter == ExampleFilter(SHIRT, None, "right")
            assert len(view.examples) == right
            assert all(e.true_label == e.predicted_label == SHIRT for e in view.examples)
            assert status(app).startswith(f"{right} of {evaluation.labels.size - 20} correct")
            assert "true=Shirt" in status(app)

            # Beside them, the class's mistakes: c shows all its examples, then the mistakes.
            await pilot.press("c")
            assert len(view.examples) == right + wrong
            await pilot.press("c")
            assert len(view.examples) == wrong
            assert all(e.true_label == SHIRT and not e.correct for e in view.examples)

            # An off-diagonal cell still shows its mistakes, whatever was shown before.
            await pilot.press("c")
            await enter_on_cell(pilot, *divmod(int(_worst_confusion(evaluation)), 10))
            assert view.filter.outcome == "wrong"
            assert view.examples and not any(e.correct for e in view.examples)

    asyncio.run(scenario())


def _worst_confusion(evaluation: Any) -> int:
    masked = evaluation.confusion.copy()
    masked[range(10), range(10)] = -1
    return int(masked.argmax())


def _as_saved_by_the_previous_version(run_dir: Path) -> None:
    """Rewrite the run's evaluation.npz without what older versions did not keep: every test
    image, the probabilities, the standard indices."""
    path = run_dir / "evaluation.npz"
    with np.load(path) as npz:
        kept = {name: npz[name] for name in npz.files}
    for name in ("images", "probabilities", "test_indices"):
        kept.pop(name, None)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **kept)


def test_a_saved_run_shows_its_correct_examples(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    app = make_app(ScriptedEngine(run_dir=str(run_dir)))

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 1)
            await wait_for(
                pilot, lambda: (run_dir / "metrics.json").is_file(), "the run saved", timeout=5
            )
            app.post_message(Reported(RunLoaded(load_run(run_dir))))
            await wait_for(
                pilot, lambda: bool(app.state.shown and app.state.shown.saved), timeout=5
            )
            await app.main.focus_applied(5)
            await pilot.pause()
            await enter_on_cell(pilot, SHIRT, SHIRT)
            view = app.query_one(MistakesView)
            assert view.filter == ExampleFilter(SHIRT, None, "right")
            assert view.examples and all(e.correct for e in view.examples)
            assert "not saved" not in status(app)

    asyncio.run(scenario())


def test_a_run_saved_by_an_older_version_says_its_correct_examples_are_not_saved(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    app = make_app(ScriptedEngine(run_dir=str(run_dir)))

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 1)
            await wait_for(
                pilot, lambda: (run_dir / "metrics.json").is_file(), "the run saved", timeout=5
            )
            _as_saved_by_the_previous_version(run_dir)
            app.post_message(Reported(RunLoaded(load_run(run_dir))))
            await wait_for(
                pilot, lambda: bool(app.state.shown and app.state.shown.saved), timeout=5
            )
            # Opening a run shows the Train tab, focused after the next frame: let that land
            # before the next tab key, as it would between a person's keys.
            await app.main.focus_applied(5)
            await pilot.pause()

            await enter_on_cell(pilot, SHIRT, SHIRT)
            view = app.query_one(MistakesView)
            assert view.filter == ExampleFilter(SHIRT, None, "right")
            assert view.examples == []  # never drawn as black tiles
            middle = view.render_line(view.size.height // 2).text.strip()
            # As much of the message as the gallery's width shows (the detail panel beside it).
            assert len(middle) > 20 and NOT_SAVED_MESSAGE.startswith(middle.removesuffix("…"))
            assert "images not saved" in status(app)

            await pilot.press("c")  # all of the class: only its mistakes have images
            assert view.examples and not any(e.correct for e in view.examples)

    asyncio.run(scenario())
