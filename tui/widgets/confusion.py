"""The confusion matrix as a heat-mapped table whose cells open their test examples: a
diagonal cell the correct predictions of its class, any other cell its mistakes."""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from core.evaluation import CLASS_NAMES, NUM_CLASSES, SHORT_CLASS_NAMES, Evaluation

COLUMN_NAMES: Final = (
    "Tee",
    "Trous",
    "Pull",
    "Dress",
    "Coat",
    "Sand",
    "Shirt",
    "Sneak",
    "Bag",
    "Boot",
)
"""Class names short enough for 6-cell columns, so the table fits in 80 columns."""

EMPTY_MESSAGE: Final = "No evaluation yet: train a model (press t)"
LEGEND: Final = "rows: true class · columns: predicted · enter on a cell: its test images"

_COUNT_WIDTH: Final = 6
_ACCURACY_WIDTH: Final = 7
_ACCURACY_COLUMN: Final = NUM_CLASSES
_LABEL_WIDTH: Final = max(len(name) for name in SHORT_CLASS_NAMES) + 1

_CORRECT_LOW: Final = Color(28, 58, 36)
_CORRECT_HIGH: Final = Color(38, 160, 72)
_WRONG_LOW: Final = Color(74, 34, 34)
_WRONG_HIGH: Final = Color(210, 48, 48)


def _tile(text: str, width: int, background: Color | None) -> Text:
    """Right-aligned ``text`` on a coloured tile, with one plain cell before it as a gap."""
    if background is None:
        return Text(text.rjust(width), style="dim", end="")
    style = Style(
        bgcolor=background.rich_color,
        color=background.get_contrast_text(1.0).rich_color,
        bold=True,
    )
    return Text.assemble(" ", (text.rjust(width - 1), style), end="")


def confusion_cells(evaluation: Evaluation) -> list[list[Text]]:
    """The table body: per true class, ten heat-mapped counts and the class accuracy.

    Diagonal cells grow greener with the share of their class predicted right; off-diagonal
    cells grow redder with their count relative to the worst confusion.
    """
    confusion = evaluation.confusion
    support = confusion.sum(axis=1)
    off_diagonal = confusion[~np.eye(NUM_CLASSES, dtype=bool)]
    worst = int(off_diagonal.max()) if off_diagonal.size else 0
    rows: list[list[Text]] = []
    for true in range(NUM_CLASSES):
        cells: list[Text] = []
        for predicted in range(NUM_CLASSES):
            count = int(confusion[true, predicted])
            if true == predicted:
                share = count / support[true] if support[true] else 0.0
                background = _CORRECT_LOW.blend(_CORRECT_HIGH, share)
            elif count == 0:
                cells.append(_tile("·", _COUNT_WIDTH, None))
                continue
            else:
                # Square root so that a handful of confusions still shows colour.
                weight = math.sqrt(count / worst) if worst else 0.0
                background = _WRONG_LOW.blend(_WRONG_HIGH, weight)
            cells.append(_tile(str(count), _COUNT_WIDTH, background))
        accuracy = float(evaluation.per_class_accuracy[true])
        shown = "–" if math.isnan(accuracy) else f"{accuracy:.1%}"
        cells.append(Text(shown.rjust(_ACCURACY_WIDTH), style="bold", end=""))
        rows.append(cells)
    return rows


class ConfusionTable(DataTable[Text]):
    """The table inside `ConfusionView`; Enter is shown in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Show images",
            tooltip="Show this cell's test images on the Mistakes tab (on the diagonal: the "
            "correct predictions of its class)",
            id="confusion.select",
        ),
    ]


class ConfusionView(Vertical):
    """A 10x10 confusion matrix: rows are true classes, columns predicted ones.

    Pressing Enter on a cell of the matrix posts `ConfusionView.CellSelected`.
    """

    DEFAULT_CSS = """
    ConfusionView {
        height: 1fr;
        & > ConfusionTable {
            width: auto;
            height: auto;
            max-height: 100%;
            scrollbar-size: 1 1;
        }
        & > #confusion-empty {
            width: 1fr;
            height: 1fr;
            content-align: center middle;
            color: $text-muted;
            text-style: italic;
        }
        & > #confusion-detail {
            height: auto;
            margin-top: 1;
        }
        & > #confusion-legend {
            height: auto;
            color: $text-muted;
        }
    }
    """

    class CellSelected(Message):
        """Enter was pressed on a cell: show its test examples (on the diagonal, the correct
        predictions of a class; elsewhere, mistakes)."""

        def __init__(
            self, view: ConfusionView, true_label: int, predicted_label: int, count: int
        ) -> None:
            super().__init__()
            self.view = view
            self.true_label = true_label
            """Row: the class the images really are."""
            self.predicted_label = predicted_label
            """Column: the class the model said."""
            self.count = count
            """How many test images fall in the cell."""

        @property
        def control(self) -> ConfusionView:
            return self.view

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._evaluation: Evaluation | None = None
        self._pending: Evaluation | None = None
        """Set before mounting; shown on mount."""

    def compose(self) -> ComposeResult:
        yield Static(EMPTY_MESSAGE, id="confusion-empty", markup=False)
        table = ConfusionTable(
            id="confusion-table",
            cursor_type="cell",
            cell_padding=0,
            cursor_foreground_priority="css",
            cursor_background_priority="css",
        )
        table.display = False
        yield table
        yield Static("", id="confusion-detail", markup=False)
        yield Static(LEGEND, id="confusion-legend", markup=False)

    def on_mount(self) -> None:
        table = self.table
        for name in COLUMN_NAMES:
            table.add_column(Text(name.rjust(_COUNT_WIDTH), style="bold"), width=_COUNT_WIDTH)
        table.add_column(Text("Acc".rjust(_ACCURACY_WIDTH), style="bold"), width=_ACCURACY_WIDTH)
        self._show_table(False)
        if self._pending is not None:
            self._show(self._pending)
            self._pending = None

    @property
    def table(self) -> ConfusionTable:
        """The underlying table (focus this one)."""
        return self.query_one(ConfusionTable)

    @property
    def evaluation(self) -> Evaluation | None:
        """The evaluation shown, if any."""
        return self._evaluation

    def set_data(self, evaluation: Evaluation) -> None:
        """Show ``evaluation``'s confusion matrix.

        The cursor stays where it was; on the first evaluation it starts on the worst
        confusion, so Enter straight away shows the most common mistake.
        """
        if evaluation.confusion.shape != (NUM_CLASSES, NUM_CLASSES):
            raise ValueError(f"expected a {NUM_CLASSES}x{NUM_CLASSES} confusion matrix")
        if self.is_mounted:
            self._show(evaluation)
        else:
            self._pending = evaluation

    def _show(self, evaluation: Evaluation) -> None:
        table = self.table
        first = self._evaluation is None
        row, column = table.cursor_coordinate
        self._evaluation = evaluation
        table.clear()
        for true, cells in enumerate(confusion_cells(evaluation)):
            label = Text(SHORT_CLASS_NAMES[true].ljust(_LABEL_WIDTH), style="bold")
            table.add_row(*cells, label=label, key=str(true))
        if first:
            masked = evaluation.confusion.copy()
            np.fill_diagonal(masked, -1)
            row, column = (int(i) for i in np.unravel_index(masked.argmax(), masked.shape))
        self._show_table(True)
        table.move_cursor(row=row, column=column, scroll=True)
        self._describe(row, column)

    def clear(self) -> None:
        """Back to the empty state."""
        self._evaluation = self._pending = None
        if not self.is_mounted:
            return
        self.table.clear()
        self._show_table(False)

    def _show_table(self, visible: bool) -> None:
        self.table.display = visible
        self.query_one("#confusion-empty").display = not visible
        self.query_one("#confusion-detail").display = visible
        self.query_one("#confusion-legend").display = visible
        if not visible:
            self.query_one("#confusion-detail", Static).update("")

    def _describe(self, true: int, predicted: int) -> None:
        """Spell out the highlighted cell under the table."""
        evaluation = self._evaluation
        if evaluation is None:
            return
        support = int(evaluation.confusion[true].sum())
        name = CLASS_NAMES[true]
        if predicted == _ACCURACY_COLUMN:
            accuracy = float(evaluation.per_class_accuracy[true])
            shown = "no samples" if math.isnan(accuracy) else f"{accuracy:.1%}"
            text = f"{name}: {shown} of {support:,} test images predicted right"
        else:
            count = int(evaluation.confusion[true, predicted])
            share = f" ({count / support:.1%} of {name})" if support else ""
            if true == predicted:
                text = f"{name} predicted right: {count:,}{share}"
            else:
                text = f"{name} predicted as {CLASS_NAMES[predicted]}: {count:,}{share}"
        self.query_one("#confusion-detail", Static).update(text)

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self._describe(event.coordinate.row, event.coordinate.column)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        evaluation = self._evaluation
        if evaluation is None:
            return
        true, predicted = event.coordinate.row, event.coordinate.column
        if predicted == _ACCURACY_COLUMN:
            self.notify("Pick a cell of the matrix to see its test images", timeout=3)
        elif (count := int(evaluation.confusion[true, predicted])) == 0:
            said = "right" if true == predicted else f"as {CLASS_NAMES[predicted]}"
            self.notify(f"No {CLASS_NAMES[true]} was predicted {said}", timeout=3)
        else:
            self.post_message(self.CellSelected(self, true, predicted, count))
