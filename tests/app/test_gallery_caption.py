"""A gallery tile names its image by its index in the standard Fashion-MNIST test set, and
says when only the index in a --limit-test subset is known."""

from __future__ import annotations

import asyncio

import numpy as np
from textual.app import App, ComposeResult

from core.evaluation import Evaluation, evaluation_from_predictions
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_list import STANDARD_TEST_SIZE, Example, standard_indices


def evaluation_of(
    samples: int, test_indices: np.ndarray | None = None, wrong: int = 0
) -> Evaluation:
    """Every sample right but sample ``wrong``, a Shirt taken for a T-shirt."""
    labels = np.arange(samples) % 10
    predictions = labels.copy()
    labels[wrong], predictions[wrong] = 6, 0
    return evaluation_from_predictions(
        labels, predictions, np.full(samples, 0.7), 0.4, test_indices=test_indices
    )


def first_caption(evaluation: Evaluation) -> str:
    """The title line of the gallery's first tile."""
    images = np.zeros((evaluation.labels.size, 28, 28), dtype=np.uint8)

    class GalleryApp(App[None]):
        def compose(self) -> ComposeResult:
            yield MistakesView()

        def on_mount(self) -> None:
            self.query_one(MistakesView).set_data(evaluation, images)

    app = GalleryApp()
    caption = ""

    async def main() -> None:
        nonlocal caption
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            caption = app.query_one(MistakesView).render_line(1).text[32:].strip()

    asyncio.run(main())
    return caption


def test_the_caption_shows_the_standard_test_set_index() -> None:
    # A --limit-test 500 subset in which the standard test set's #8841 is sample 441.
    indices = np.arange(500) * 20 + 21
    assert indices[441] == 8841
    evaluation = evaluation_of(500, test_indices=indices, wrong=441)
    assert first_caption(evaluation) == "test #8841"


def test_the_whole_test_set_is_its_own_index() -> None:
    assert first_caption(evaluation_of(STANDARD_TEST_SIZE)) == "test #0"


def test_an_unknown_subset_index_says_it_is_one() -> None:
    assert first_caption(evaluation_of(500)) == "subset #0"


def test_standard_indices() -> None:
    assert standard_indices(evaluation_of(500)) is None
    whole = standard_indices(evaluation_of(STANDARD_TEST_SIZE))
    assert whole is not None and whole.tolist() == list(range(STANDARD_TEST_SIZE))
    picked = np.arange(500) * 3
    given = standard_indices(evaluation_of(500, test_indices=picked))
    assert given is not None and given.tolist() == picked.tolist()
    assert Example(884, 6, 0, 0.5, standard_index=8841).title == "test #8841"
    assert Example(884, 6, 0, 0.5).title == "subset #884"
