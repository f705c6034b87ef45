"""The mistakes gallery's list: what it shows, in which order, where the cursor is, and the
grid arithmetic of rows, pages and scrolling. Plain Python, tested without Textual;
``tui.widgets.mistakes.MistakesView`` draws it and turns keys into calls here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from core.evaluation import CLASS_NAMES, Mistake

SortOrder = Literal["index", "confidence_desc", "confidence_asc"]
SORT_ORDERS: Final[tuple[SortOrder, ...]] = ("index", "confidence_desc", "confidence_asc")
SORT_LABELS: Final[dict[SortOrder, str]] = {
    "index": "test order",
    "confidence_desc": "confidence ↓",
    "confidence_asc": "confidence ↑",
}

MIN_CELL_WIDTH: Final = 56
"""Narrowest gallery cell that still fits ``predicted: T-shirt/top`` beside a 28-px image."""


def describe_view(
    shown: int,
    total: int,
    sort_by: SortOrder,
    true_filter: int | None,
    predicted_filter: int | None,
) -> str:
    """One line summing up the gallery, short enough for 80 columns.

    For example ``412 mistakes · by confidence ↓`` or
    ``28 of 1,932 mistakes · true=Shirt pred=T-shirt/top · by test order``.
    """
    filters = []
    if true_filter is not None:
        filters.append(f"true={CLASS_NAMES[true_filter]}")
    if predicted_filter is not None:
        filters.append(f"pred={CLASS_NAMES[predicted_filter]}")
    noun = "mistake" if (total if filters else shown) == 1 else "mistakes"
    count = f"{shown:,} of {total:,} {noun}" if filters else f"{shown:,} {noun}"
    parts = [count, " ".join(filters)] if filters else [count]
    parts.append(f"by {SORT_LABELS[sort_by]}")
    return " · ".join(parts)


def next_in_cycle(current: int | None, present: Iterable[int]) -> int | None:
    """The next class after ``current`` among ``present``, wrapping round through None."""
    after = sorted(c for c in present if current is None or c > current)
    return after[0] if after else None


def check_class(label: int | None) -> None:
    if label is not None and not 0 <= label < len(CLASS_NAMES):
        raise ValueError(f"no class {label}")


class MistakeList:
    """Every mistake, the ones shown (filtered and sorted), the cursor, and the grid.

    Items are laid out ``columns`` to a row; a row is ``item_height`` lines: the image's
    ``image_rows`` lines and a spacer. Scroll positions and viewports are in lines.
    """

    def __init__(self) -> None:
        self.all: list[Mistake] = []
        """Every mistake of the evaluation, in test order."""
        self.shown: list[Mistake] = []
        """The mistakes that pass the filter, in gallery order."""
        self.cursor = 0
        """Position of the highlighted item in :attr:`shown`."""
        self.columns = 1
        self.image_rows = 14
        """Terminal lines per image (two pixel rows per line)."""
        self.image_width = 28

    # --- Contents ---------------------------------------------------------------------------

    def set_mistakes(
        self, mistakes: list[Mistake], image_height: int = 28, image_width: int = 28
    ) -> None:
        self.all = mistakes
        self.image_rows = (image_height + 1) // 2
        self.image_width = image_width
        self.cursor = 0

    def clear(self) -> None:
        self.all = []
        self.cursor = 0

    def rebuild(
        self,
        sort_by: SortOrder,
        true_filter: int | None,
        predicted_filter: int | None,
        keep: Mistake | None,
    ) -> None:
        """Filter and sort, keeping ``keep`` under the cursor when it is still shown."""
        shown = [
            m
            for m in self.all
            if (true_filter is None or m.true_label == true_filter)
            and (predicted_filter is None or m.predicted_label == predicted_filter)
        ]
        if sort_by == "confidence_desc":
            shown.sort(key=lambda m: (-m.confidence, m.index))
        elif sort_by == "confidence_asc":
            shown.sort(key=lambda m: (m.confidence, m.index))
        self.shown = shown
        positions = {m.index: i for i, m in enumerate(shown)}
        self.cursor = positions.get(keep.index, 0) if keep is not None else 0

    @property
    def highlighted(self) -> Mistake | None:
        return self.shown[self.cursor] if self.shown else None

    def next_true_filter(self, true_filter: int | None, predicted_filter: int | None) -> int | None:
        """The true class after ``true_filter`` that has mistakes under ``predicted_filter``."""
        present = {
            m.true_label
            for m in self.all
            if predicted_filter is None or m.predicted_label == predicted_filter
        }
        return next_in_cycle(true_filter, present)

    def next_predicted_filter(
        self, true_filter: int | None, predicted_filter: int | None
    ) -> int | None:
        """The predicted class after ``predicted_filter`` with mistakes under ``true_filter``."""
        present = {
            m.predicted_label
            for m in self.all
            if true_filter is None or m.true_label == true_filter
        }
        return next_in_cycle(predicted_filter, present)

    # --- Cursor and grid --------------------------------------------------------------------

    @property
    def item_height(self) -> int:
        """Lines per gallery row: the image plus a spacer."""
        return self.image_rows + 1

    def set_width(self, width: int) -> None:
        """Lay the items out in as many columns as fit in ``width`` cells (at least one)."""
        self.columns = max(1, width // MIN_CELL_WIDTH)

    @property
    def rows(self) -> int:
        return -(-len(self.shown) // self.columns)

    @property
    def height(self) -> int:
        """Lines the whole gallery takes."""
        return self.rows * self.item_height

    def row_of(self, position: int) -> int:
        return position // self.columns

    def top_of(self, position: int) -> int:
        """The first line of the row holding ``position``."""
        return self.row_of(position) * self.item_height

    def clamp(self, position: int) -> int:
        return max(0, min(len(self.shown) - 1, position))

    def position_at(self, line: int, column: int) -> int | None:
        """The item drawn at gallery ``line`` in ``column``, if any."""
        position = (line // self.item_height) * self.columns + min(self.columns - 1, column)
        return position if position < len(self.shown) else None

    def page_items(self, viewport: int) -> int:
        """Items in the whole rows that fit in ``viewport`` lines (at least one row)."""
        return max(1, viewport // self.item_height) * self.columns

    def cursor_on_screen(self, scroll_y: float, viewport: int) -> bool:
        top = self.top_of(self.cursor)
        return scroll_y - self.image_rows < top < scroll_y + viewport

    def first_on_screen(self, scroll_y: int, viewport: int) -> int:
        """The first item whose top line is on screen (or the one filling the screen)."""
        row = -(-scroll_y // self.item_height)
        if row * self.item_height >= scroll_y + viewport:
            row = scroll_y // self.item_height
        return min(row * self.columns, len(self.shown) - 1)

    def scroll_for_cursor(self, scroll_y: float, viewport: int) -> int | None:
        """Where to scroll for the whole cursor item to be visible, or None: it is."""
        top = self.top_of(self.cursor)
        bottom = top + self.image_rows
        if top < scroll_y or self.image_rows > viewport:
            return top
        if bottom > scroll_y + viewport:
            return bottom - viewport
        return None
