"""The gallery's list: which test examples it shows, in which order, where the cursor is, and
the grid arithmetic of rows, pages and scrolling. Plain Python and NumPy, tested without
Textual; ``tui.widgets.mistakes.MistakesView`` draws it and turns keys into calls here.

The gallery holds every test example of an evaluation; a filter (true class, predicted class,
and whether the prediction was wrong, right or either) picks the ones shown. An example is only
drawn when its image is at hand (see ``ExampleList.set_evaluation``'s ``available``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from core.evaluation import CLASS_NAMES, NUM_CLASSES, Evaluation

SortOrder = Literal["index", "confidence_desc", "confidence_asc"]
SORT_ORDERS: Final[tuple[SortOrder, ...]] = ("index", "confidence_desc", "confidence_asc")
SORT_LABELS: Final[dict[SortOrder, str]] = {
    "index": "test order",
    "confidence_desc": "confidence ↓",
    "confidence_asc": "confidence ↑",
}

Outcome = Literal["wrong", "right", "all"]
"""Which predictions the gallery shows: the mistakes, the correct ones, or both."""
OUTCOMES: Final[tuple[Outcome, ...]] = ("wrong", "right", "all")
ClassAxis = Literal["true", "predicted"]
"""Which of an example's two classes a filter or a key acts on."""

STANDARD_TEST_SIZE: Final = 10_000
"""Images in Fashion-MNIST's test set: an evaluation of that many without
``test_indices`` is of the whole set, in its order."""

MIN_CELL_WIDTH: Final = 56
"""Narrowest gallery cell that still fits ``predicted: T-shirt/top`` beside a 28-px image."""

NO_DATA_MESSAGE: Final = "No mistakes yet: train a model (press t)"
NO_MISTAKES_MESSAGE: Final = "No mistakes: every test image was classified correctly"
NO_CORRECT_MESSAGE: Final = "No correct predictions: every test image was misclassified"
NO_MATCH_MESSAGE: Final = "No mistakes match the filter (press x to clear it)"
NOT_SAVED_MESSAGE: Final = (
    "Correct examples are not saved with this run: only its mistakes' images are"
)

BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.intp]


def check_class(label: int | None) -> None:
    if label is not None and not 0 <= label < NUM_CLASSES:
        raise ValueError(f"no class {label}")


@dataclass(frozen=True, slots=True)
class Example:
    """One test example as the gallery shows it."""

    index: int
    """Position in the test set the run was evaluated on (a subset under ``--limit-test``);
    also the index of its image."""
    true_label: int
    predicted_label: int
    confidence: float
    """Probability the model gave its prediction."""
    standard_index: int | None = None
    """Its index in the standard Fashion-MNIST test set, when known."""

    @property
    def correct(self) -> bool:
        return self.true_label == self.predicted_label

    @property
    def true_name(self) -> str:
        return CLASS_NAMES[self.true_label]

    @property
    def predicted_name(self) -> str:
        return CLASS_NAMES[self.predicted_label]

    @property
    def title(self) -> str:
        """``test #8841`` (the standard test set's index), else ``subset #884``."""
        if self.standard_index is None:
            return f"subset #{self.index}"
        return f"test #{self.standard_index}"


@dataclass(frozen=True, slots=True)
class ExampleFilter:
    """Which examples the gallery shows: of one true and/or one predicted class (None: any),
    and wrong, right or either."""

    true: int | None = None
    predicted: int | None = None
    outcome: Outcome = "wrong"

    def __post_init__(self) -> None:
        check_class(self.true)
        check_class(self.predicted)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"no outcome {self.outcome!r}")

    @property
    def has_classes(self) -> bool:
        """A class is chosen (what ``x`` clears)."""
        return self.true is not None or self.predicted is not None

    def with_class(self, which: ClassAxis, label: int | None) -> ExampleFilter:
        """This filter with its ``which`` class set to ``label``."""
        if which == "true":
            return dataclasses.replace(self, true=label)
        return dataclasses.replace(self, predicted=label)

    def class_of(self, which: ClassAxis) -> int | None:
        return self.true if which == "true" else self.predicted

    def widens(self, before: ExampleFilter) -> bool:
        """Every example ``before`` showed is still shown."""
        return (
            self.true in (None, before.true)
            and self.predicted in (None, before.predicted)
            and self.outcome in ("all", before.outcome)
        )


def noun(outcome: Outcome, count: int) -> str:
    if outcome == "right":
        return "correct"
    word = "mistake" if outcome == "wrong" else "example"
    return word if count == 1 else f"{word}s"


def describe_view(
    shown: int,
    total: int,
    sort_by: SortOrder,
    selection: ExampleFilter | None = None,
    hidden: int = 0,
) -> str:
    """One line summing up the gallery, short enough for 80 columns.

    For example ``412 mistakes · by confidence ↓``,
    ``28 of 1,932 mistakes · true=Shirt pred=T-shirt/top · by test order`` or
    ``90 of 9,100 correct · true=Shirt · 90 images not saved · by test order``.

    Args:
        shown: examples that pass the filter.
        total: examples of the filter's outcome, whatever their class.
        hidden: of ``shown``, those whose image is not at hand.
    """
    selection = selection or ExampleFilter()
    filters = []
    if selection.true is not None:
        filters.append(f"true={CLASS_NAMES[selection.true]}")
    if selection.predicted is not None:
        filters.append(f"pred={CLASS_NAMES[selection.predicted]}")
    word = noun(selection.outcome, total if filters else shown)
    count = f"{shown:,} of {total:,} {word}" if filters else f"{shown:,} {word}"
    parts = [count, " ".join(filters)] if filters else [count]
    if hidden:
        parts.append(f"{hidden:,} image{'s' if hidden != 1 else ''} not saved")
    parts.append(f"by {SORT_LABELS[sort_by]}")
    return " · ".join(parts)


def step_in_cycle(current: int | None, present: Iterable[int], step: int = 1) -> int | None:
    """The class after (``step`` > 0) or before ``current`` among ``present``, wrapping round
    through None (every class)."""
    ordered = sorted(set(present))
    if step > 0:
        after = [c for c in ordered if current is None or c > current]
        return after[0] if after else None
    before = [c for c in ordered if current is None or c < current]
    return before[-1] if before else None


def standard_indices(evaluation: Evaluation) -> IndexArray | None:
    """Each sample's index in the standard test set, or None where that is not known.

    Known when the evaluation says (:attr:`Evaluation.test_indices`), or when it covers the
    whole standard test set. An evaluation of a ``--limit-test`` subset saved without them
    is not known: its indices are the subset's.
    """
    if evaluation.test_indices is not None:
        return np.asarray(evaluation.test_indices, dtype=np.intp)
    if evaluation.labels.size == STANDARD_TEST_SIZE:
        return np.arange(STANDARD_TEST_SIZE, dtype=np.intp)
    return None


class ExampleList:
    """Every test example, the ones shown (filtered and sorted), the cursor, and the grid.

    Items are laid out ``columns`` to a row; a row is ``item_height`` lines: the image's
    ``image_rows`` lines and a spacer. Scroll positions and viewports are in lines.
    """

    def __init__(self) -> None:
        self._labels: IndexArray = np.zeros(0, dtype=np.intp)
        self._predictions: IndexArray = np.zeros(0, dtype=np.intp)
        self._confidences: npt.NDArray[np.float64] = np.zeros(0)
        self._standard: IndexArray | None = None
        self._available: BoolArray = np.zeros(0, dtype=bool)
        self.has_data = False
        """An evaluation is set."""
        self.filter = ExampleFilter()
        self._order: IndexArray = np.zeros(0, dtype=np.intp)
        """The test positions shown, in gallery order."""
        self.matches = 0
        """Examples that pass the filter, with an image or without."""
        self.cursor = 0
        """Position of the highlighted item in the gallery as shown."""
        self.columns = 1
        self.image_rows = 14
        """Terminal lines per image (two pixel rows per line)."""
        self.image_width = 28

    # --- Contents ---------------------------------------------------------------------------

    def set_evaluation(
        self,
        evaluation: Evaluation,
        available: npt.ArrayLike | None = None,
        image_height: int = 28,
        image_width: int = 28,
    ) -> None:
        """Hold every example of ``evaluation``.

        Args:
            available: per sample, whether its image is at hand (None: every one). Examples
                without one are counted but not shown.
        """
        self._labels = np.asarray(evaluation.labels, dtype=np.intp)
        self._predictions = np.asarray(evaluation.predictions, dtype=np.intp)
        self._confidences = np.asarray(evaluation.confidences, dtype=np.float64)
        self._standard = standard_indices(evaluation)
        count = self._labels.size
        if available is None:
            self._available = np.ones(count, dtype=bool)
        else:
            self._available = np.asarray(available, dtype=bool)
            if self._available.shape != (count,):
                raise ValueError(f"available {self._available.shape} for {count} test samples")
        self.has_data = True
        self.image_rows = (image_height + 1) // 2
        self.image_width = image_width
        self.cursor = 0

    def clear(self) -> None:
        """Forget the evaluation (the filter and the layout stay)."""
        empty: IndexArray = np.zeros(0, dtype=np.intp)
        self._labels = self._predictions = self._order = empty
        self._confidences = np.zeros(0)
        self._standard = None
        self._available = np.zeros(0, dtype=bool)
        self.has_data = False
        self.matches = self.cursor = 0

    def example(self, index: int) -> Example:
        """The example at test position ``index``."""
        return Example(
            index=index,
            true_label=int(self._labels[index]),
            predicted_label=int(self._predictions[index]),
            confidence=float(self._confidences[index]),
            standard_index=None if self._standard is None else int(self._standard[index]),
        )

    def __len__(self) -> int:
        """Examples shown."""
        return int(self._order.size)

    def at(self, position: int) -> Example:
        """The example at ``position`` in the gallery as shown."""
        return self.example(int(self._order[position]))

    @property
    def shown(self) -> list[Example]:
        """The examples shown, in gallery order."""
        return [self.example(int(i)) for i in self._order]

    @property
    def hidden(self) -> int:
        """Examples that pass the filter but have no image, so are not shown."""
        return self.matches - len(self)

    def _outcome_mask(self, outcome: Outcome) -> BoolArray:
        if outcome == "all":
            return np.ones(self._labels.size, dtype=bool)
        right: BoolArray = np.equal(self._labels, self._predictions)
        return right if outcome == "right" else ~right

    def _mask(self, selection: ExampleFilter) -> BoolArray:
        mask = self._outcome_mask(selection.outcome)
        if selection.true is not None:
            mask &= self._labels == selection.true
        if selection.predicted is not None:
            mask &= self._predictions == selection.predicted
        return mask

    def total(self, outcome: Outcome) -> int:
        """Examples of ``outcome``, whatever their class."""
        return int(self._outcome_mask(outcome).sum()) if self.has_data else 0

    def rebuild(self, sort_by: SortOrder, selection: ExampleFilter, keep: Example | None) -> None:
        """Filter and sort, keeping ``keep`` under the cursor when it is still shown."""
        self.filter = selection
        mask = self._mask(selection)
        self.matches = int(mask.sum())
        order = np.flatnonzero(mask & self._available)
        if sort_by == "confidence_desc":
            order = order[np.argsort(-self._confidences[order], kind="stable")]
        elif sort_by == "confidence_asc":
            order = order[np.argsort(self._confidences[order], kind="stable")]
        self._order = order.astype(np.intp)
        self.cursor = 0
        if keep is not None:
            found = np.flatnonzero(self._order == keep.index)
            self.cursor = int(found[0]) if found.size else 0

    @property
    def highlighted(self) -> Example | None:
        return self.at(self.cursor) if len(self) else None

    def class_counts(self, selection: ExampleFilter, which: ClassAxis) -> list[int]:
        """Per class, the examples ``selection`` would match with that class as its ``which``
        class (the other filters as they are)."""
        if not self.has_data:
            return [0] * NUM_CLASSES
        mask = self._mask(selection.with_class(which, None))
        values = self._labels if which == "true" else self._predictions
        return [int(count) for count in np.bincount(values[mask], minlength=NUM_CLASSES)]

    def step_class(self, selection: ExampleFilter, which: ClassAxis, step: int) -> ExampleFilter:
        """``selection`` with its ``which`` class moved to the next (``step`` > 0) or
        previous class that has examples under the other filters, round through every
        class."""
        counts = self.class_counts(selection, which)
        present = [label for label, count in enumerate(counts) if count]
        current = selection.class_of(which)
        return selection.with_class(which, step_in_cycle(current, present, step))

    def empty_message(self) -> str:
        """What an empty gallery says, and why it is empty."""
        if not self.has_data:
            return NO_DATA_MESSAGE
        if self.matches:
            return NOT_SAVED_MESSAGE
        outcome = self.filter.outcome
        if self.total(outcome) == 0:
            return NO_CORRECT_MESSAGE if outcome == "right" else NO_MISTAKES_MESSAGE
        if outcome == "wrong":
            return NO_MATCH_MESSAGE
        what = "correct examples" if outcome == "right" else "examples"
        return f"No {what} match the filter (press x to clear it)"

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
        return -(-len(self) // self.columns)

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
        return max(0, min(len(self) - 1, position))

    def position_at(self, line: int, column: int) -> int | None:
        """The item drawn at gallery ``line`` in ``column``, if any."""
        position = (line // self.item_height) * self.columns + min(self.columns - 1, column)
        return position if position < len(self) else None

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
        return min(row * self.columns, len(self) - 1)

    def scroll_for_cursor(self, scroll_y: float, viewport: int) -> int | None:
        """Where to scroll for the whole cursor item to be visible, or None: it is."""
        top = self.top_of(self.cursor)
        bottom = top + self.image_rows
        if top < scroll_y or self.image_rows > viewport:
            return top
        if bottom > scroll_y + viewport:
            return bottom - viewport
        return None
