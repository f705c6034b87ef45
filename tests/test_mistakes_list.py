"""The gallery's list model, without Textual: filter, sort, cursor, grid arithmetic."""

from __future__ import annotations

import pytest

from core.evaluation import Mistake
from tui.widgets.mistakes_list import MistakeList, next_in_cycle


def mistake(index: int, true: int, predicted: int, confidence: float) -> Mistake:
    return Mistake(index=index, true_label=true, predicted_label=predicted, confidence=confidence)


@pytest.fixture
def items() -> MistakeList:
    model = MistakeList()
    model.set_mistakes(
        [
            mistake(3, 0, 6, 0.6),
            mistake(7, 6, 0, 0.9),
            mistake(9, 0, 2, 0.7),
            mistake(12, 2, 4, 0.5),
            mistake(15, 0, 6, 0.8),
        ]
    )
    model.rebuild("index", None, None, keep=None)
    return model


def test_filter_and_sort(items: MistakeList) -> None:
    items.rebuild("confidence_desc", 0, None, keep=None)
    assert [m.index for m in items.shown] == [15, 9, 3]
    items.rebuild("confidence_asc", 0, 6, keep=None)
    assert [m.index for m in items.shown] == [3, 15]


def test_rebuild_keeps_the_highlighted_mistake(items: MistakeList) -> None:
    items.cursor = 2  # test #9
    keep = items.highlighted
    items.rebuild("confidence_desc", None, None, keep=keep)
    assert items.highlighted == keep
    items.rebuild("index", 6, None, keep=keep)  # filtered out: back to the first
    assert items.cursor == 0


def test_filter_cycles(items: MistakeList) -> None:
    assert items.next_true_filter(None, None) == 0
    assert items.next_true_filter(0, None) == 2
    assert items.next_true_filter(6, None) is None
    assert items.next_predicted_filter(0, None) == 2
    assert items.next_predicted_filter(0, 2) == 6
    assert next_in_cycle(9, {1, 2}) is None


def test_grid_arithmetic(items: MistakeList) -> None:
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
