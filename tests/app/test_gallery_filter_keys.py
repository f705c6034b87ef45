"""The gallery's class filter steps both ways, a class can be picked at once, and ``c`` shows
the correct predictions: Pilot tests on the gallery alone, at 80x24."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.widgets import Static

from core.evaluation import Evaluation, evaluate_probabilities
from tui.bindings import app_bindings
from tui.screens.help import key_rows
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_list import ExampleFilter
from tui.widgets.mistakes_pane import MistakesPane
from tui.widgets.mistakes_picker import ClassPicker

SAMPLES = 600


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    """Random predictions over ten classes: every class has mistakes and right ones."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, size=SAMPLES)
    probabilities = rng.dirichlet(np.ones(10), size=SAMPLES)
    right = rng.random(SAMPLES) < 0.5
    probabilities[right, labels[right]] += 2.0  # about half predicted right
    return evaluate_probabilities(probabilities / probabilities.sum(axis=1, keepdims=True), labels)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(4).integers(0, 256, size=(SAMPLES, 28, 28), dtype=np.uint8)


class GalleryApp(App[None]):
    def __init__(self, evaluation: Evaluation, images: np.ndarray) -> None:
        super().__init__()
        self.evaluation = evaluation
        self.images = images

    def compose(self) -> ComposeResult:
        yield MistakesPane()

    def on_mount(self) -> None:
        self.query_one(MistakesPane).set_data(self.evaluation, self.images)
        self.query_one(MistakesView).focus()


def run(app: App[None], script: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(main())


def status(app: App[None]) -> str:
    return str(app.query_one("#mistakes-status", Static).render())


def test_f_and_b_step_the_true_class_both_ways(evaluation: Evaluation, images: np.ndarray) -> None:
    app = GalleryApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.press("b")  # back from every class: the last one
        assert view.filter.true == 9
        assert view.examples and {e.true_label for e in view.examples} == {9}
        await pilot.press("b", "b")
        assert view.filter.true == 7
        await pilot.press("f")
        assert view.filter.true == 8
        await pilot.press("f", "f")  # past the last class: every class again
        assert view.filter.true is None
        assert len(view.examples) == view.total

    run(app, script)


def test_shift_f_and_shift_b_step_the_predicted_class_both_ways(
    evaluation: Evaluation, images: np.ndarray
) -> None:
    app = GalleryApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.press("B")
        assert view.filter.predicted == 9
        await pilot.press("B")
        assert view.filter.predicted == 8
        assert {e.predicted_label for e in view.examples} == {8}
        await pilot.press("F")
        assert view.filter.predicted == 9
        assert view.filter.true is None  # the other class stays as it was

    run(app, script)


def test_a_class_is_picked_at_once(evaluation: Evaluation, images: np.ndarray) -> None:
    app = GalleryApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ClassPicker)
        await pilot.press("6")  # Shirt, in two keys rather than seven
        await pilot.pause()
        assert not isinstance(app.screen, ClassPicker)
        assert view.filter == ExampleFilter(6, None, "wrong")
        assert "true=Shirt" in status(app)

        await pilot.press("P")
        await pilot.pause()
        await pilot.press("0")
        await pilot.pause()
        assert view.filter == ExampleFilter(6, 0, "wrong")
        assert {(e.true_label, e.predicted_label) for e in view.examples} == {(6, 0)}

        await pilot.press("p", "escape")  # cancelled: nothing changes
        await pilot.pause()
        assert view.filter == ExampleFilter(6, 0, "wrong")

        await pilot.press("p")  # the list, as a list: down from Shirt to Sneaker, Enter
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert view.filter.true == 7

        await pilot.press("P")
        await pilot.pause()
        await pilot.press("a")  # every class
        await pilot.pause()
        assert view.filter == ExampleFilter(7, None, "wrong")

    run(app, script)


def test_c_shows_the_correct_predictions_then_all(
    evaluation: Evaluation, images: np.ndarray
) -> None:
    app = GalleryApp(evaluation, images)
    right = int((evaluation.predictions == evaluation.labels).sum())

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        assert all(not e.correct for e in view.examples)
        await pilot.press("c")
        assert view.filter.outcome == "right"
        assert len(view.examples) == right and all(e.correct for e in view.examples)
        assert status(app) == f"{right} correct · by test order"
        await pilot.press("c")
        assert view.filter.outcome == "all"
        assert len(view.examples) == SAMPLES
        assert status(app) == f"{SAMPLES} examples · by test order"
        await pilot.press("c")
        assert view.filter.outcome == "wrong"

    run(app, script)


def test_the_keys_are_in_help_and_clash_with_no_app_key() -> None:
    rows = dict(key_rows(MistakesView.BINDINGS))
    for key in ("f", "b", "F", "B", "p", "P", "c"):
        assert rows.get(key), f"{key} is not described in help"

    def keys(bindings: list[BindingType]) -> set[str]:
        return {k for b in bindings if isinstance(b, Binding) for k in b.key.split(",")}

    assert not keys(MistakesView.BINDINGS) & keys(app_bindings())
