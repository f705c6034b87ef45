"""The gallery's list model, without Textual: filter, sort, cursor, grid arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import Evaluation, evaluation_from_predictions
from tui.widgets.mistakes_list import (
    NO_CORRECT_MESSAGE,
    NO_DATA_MESSAGE,
    NO_MISTAKES_MESSAGE,
    NOT_SAVED_MESSAGE,
    ExampleFilter,
    ExampleList,
    describe_view,
    step_in_cycle,
)

# (index, true, predicted, confidence): five mistakes among twenty test samples.
MISTAKES = [(3, 0, 6, 0.6), (7, 6, 0, 0.9), (9, 0, 2, 0.7), (12, 2, 4, 0.5), (15, 0, 6, 0.8)]


def twenty_samples() -> Evaluation:
    labels = np.arange(20) % 10
    predictions = labels.copy()
    confidences = np.full(20, 0.99)
    for index, true, predicted, confidence in MISTAKES:
        labels[index], predictions[index], confidences[index] = true, predicted, confidence
    return evaluation_from_predictions(labels, predictions, confidences, 0.5)


@pytest.fixture
def items() -> ExampleList:
    model = ExampleList()
    model.set_evaluation(twenty_samples())
    model.rebuild("index", ExampleFilter(), keep=None)
    return model


def test_the_mistakes_by_default(items: ExampleList) -> None:
    assert [e.index for e in items.shown] == [3, 7, 9, 12, 15]
    assert items.total("wrong") == 5 and items.total("right") == 15


def test_filter_and_sort(items: ExampleList) -> None:
    items.rebuild("confidence_desc", ExampleFilter(0), keep=None)
    assert [e.index for e in items.shown] == [15, 9, 3]
    items.rebuild("confidence_asc", ExampleFilter(0, 6), keep=None)
    assert [e.index for e in items.shown] == [3, 15]


def test_rebuild_keeps_the_highlighted_example(items: ExampleList) -> None:
    items.cursor = 2  # test #9
    keep = items.highlighted
    items.rebuild("confidence_desc", ExampleFilter(), keep=keep)
    assert items.highlighted == keep
    items.rebuild("index", ExampleFilter(6), keep=keep)  # filtered out: back to the first
    assert items.cursor == 0


def test_filter_cycles(items: ExampleList) -> None:
    def true_after(true: int | None, predicted: int | None, step: int = 1) -> int | None:
        return items.step_class(ExampleFilter(true, predicted), "true", step).true

    def predicted_after(true: int | None, predicted: int | None) -> int | None:
        return items.step_class(ExampleFilter(true, predicted), "predicted", 1).predicted

    assert true_after(None, None) == 0
    assert true_after(0, None) == 2
    assert true_after(6, None) is None
    assert predicted_after(0, None) == 2
    assert predicted_after(0, 2) == 6
    assert step_in_cycle(9, {1, 2}) is None


def test_class_counts_follow_the_other_filters(items: ExampleList) -> None:
    assert items.class_counts(ExampleFilter(), "true") == [3, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    assert items.class_counts(ExampleFilter(predicted=6), "true") == [2, *[0] * 9]
    # Of the twenty (two of each class), 15 are right: one fewer of the classes of the
    # five mistaken samples (3, 7, 9, 2 and 5).
    right = items.class_counts(ExampleFilter(outcome="right"), "true")
    assert right == [2, 2, 1, 1, 2, 1, 2, 1, 2, 1]


def test_the_filter_widens_or_narrows() -> None:
    shirts = ExampleFilter(6, 0, "wrong")
    assert ExampleFilter(6, None, "wrong").widens(shirts)
    assert ExampleFilter(None, None, "all").widens(shirts)
    assert not ExampleFilter(6, 0, "right").widens(shirts)
    assert not ExampleFilter(5, None, "wrong").widens(shirts)
    with pytest.raises(ValueError, match="no class"):
        ExampleFilter(10)


def test_grid_arithmetic(items: ExampleList) -> None:
    items.set_width(120)  # two 56-cell columns
    assert items.columns == 2
    assert items.rows == 3
    assert items.item_height == 15
    assert items.height == 45
    assert items.top_of(3) == 15
    assert items.position_at(16, 5) == 3
    assert items.position_at(31, 1) is None  # past the last item
    assert items.page_items(30) == 4
    assert items.clamp(99) == 4
    items.cursor = 4
    assert items.scroll_for_cursor(0, 20) == 30 + 14 - 20
    assert items.scroll_for_cursor(30, 20) is None
    assert not items.cursor_on_screen(0, 15)
    assert items.first_on_screen(16, 15) == 4


def test_examples_without_an_image_are_counted_not_shown() -> None:
    evaluation = twenty_samples()
    items = ExampleList()
    # As a saved run holds them: the mistakes' images only.
    items.set_evaluation(evaluation, available=evaluation.labels != evaluation.predictions)
    items.rebuild("index", ExampleFilter(6, None, "right"), keep=None)
    assert len(items) == 0 and items.matches == items.hidden == 2  # samples 6 and 16
    assert items.empty_message() == NOT_SAVED_MESSAGE
    assert describe_view(items.matches, items.total("right"), "index", items.filter, 2) == (
        "2 of 15 correct · true=Shirt · 2 images not saved · by test order"
    )
    items.rebuild("index", ExampleFilter(0, None, "all"), keep=None)
    assert [e.index for e in items.shown] == [3, 9, 15]  # the class's mistakes
    assert items.hidden == 2


def test_empty_messages() -> None:
    items = ExampleList()
    assert items.empty_message() == NO_DATA_MESSAGE
    perfect = evaluation_from_predictions(np.arange(10), np.arange(10), np.ones(10), 0.0)
    items.set_evaluation(perfect)
    items.rebuild("index", ExampleFilter(), keep=None)
    assert items.empty_message() == NO_MISTAKES_MESSAGE
    items.rebuild("index", ExampleFilter(3, 4, "right"), keep=None)
    assert items.empty_message() == "No correct examples match the filter (press x to clear it)"
    hopeless = evaluation_from_predictions(np.arange(10), (np.arange(10) + 1) % 10, np.ones(10), 0)
    items.set_evaluation(hopeless)
    items.rebuild("index", ExampleFilter(outcome="right"), keep=None)
    assert items.empty_message() == NO_CORRECT_MESSAGE
