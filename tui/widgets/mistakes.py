"""A virtualised gallery of test examples: the mistakes, the correct ones, or both.

Only the lines on screen are ever built (Textual's Line API), and each image is rendered once
and then served from a cache (``tui.widgets.halfcell``), so the view stays smooth with
thousands of examples. What is shown, in which order, the cursor and the grid arithmetic live
in a plain list model (``tui.widgets.mistakes_list``) and one cell is drawn by
``tui.widgets.mistakes_item``; this view lays the cells out, scrolls, and handles keys, mouse
and messages.
"""

from __future__ import annotations

from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.evaluation import Evaluation
from tui.widgets.halfcell import GalleryImages
from tui.widgets.mistakes_item import ItemStyles, item_line
from tui.widgets.mistakes_list import (
    OUTCOMES,
    SORT_ORDERS,
    ClassAxis,
    Example,
    ExampleFilter,
    ExampleList,
    Outcome,
    SortOrder,
    describe_view,
)
from tui.widgets.mistakes_picker import ClassChoice, ClassPicker

_IMAGE_CACHE_SIZE: Final = 1024
"""Rendered images kept: many screens of scrolling back and forth, a few kB each."""


class MistakesView(ScrollView, can_focus=True):
    """Test examples with their true and predicted classes; at first, the mistakes.

    Items are laid out in as many columns as fit (one at 80 columns). A cursor highlights one
    item; keys move it, sort the gallery, and filter it by true or predicted class and by
    whether the prediction was wrong or right.
    """

    class Highlighted(Message):
        """The cursor moved onto an example."""

        def __init__(self, view: MistakesView, example: Example, position: int) -> None:
            super().__init__()
            self.view = view
            self.example = example
            """The highlighted example."""
            self.position = position
            """Its position in the gallery as shown (sorted and filtered)."""

        @property
        def control(self) -> MistakesView:
            return self.view

    class DetailToggled(Message):
        """The user asked to show or hide the detail panel (``i``)."""

    class Updated(Message):
        """What the gallery shows changed: data, sort order or filter."""

        def __init__(
            self,
            view: MistakesView,
            *,
            shown: int,
            total: int,
            hidden: int,
            sort_by: SortOrder,
            selection: ExampleFilter,
            has_data: bool,
        ) -> None:
            super().__init__()
            self.view = view
            self.shown = shown
            """Examples that pass the filter."""
            self.total = total
            """Examples of the filter's outcome (mistakes, correct ones or all), any class."""
            self.hidden = hidden
            """Of :attr:`shown`, those not drawn because their image is not at hand."""
            self.sort_by: SortOrder = sort_by
            self.selection = selection
            self.has_data = has_data
            """False before any evaluation was set."""

        @property
        def control(self) -> MistakesView:
            return self.view

        @property
        def summary(self) -> str:
            """The status line, e.g. ``412 mistakes · by confidence ↓``."""
            if not self.has_data:
                return "No evaluation yet"
            return describe_view(self.shown, self.total, self.sort_by, self.selection, self.hidden)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Previous", show=False, id="mistakes.up"),
        Binding("down,j", "cursor_down", "Next", show=False, id="mistakes.down"),
        Binding("left,h", "cursor_left", "Left", show=False, id="mistakes.left"),
        Binding("right,l", "cursor_right", "Right", show=False, id="mistakes.right"),
        Binding("pageup", "cursor_page_up", "Page up", show=False, id="mistakes.page_up"),
        Binding("pagedown", "cursor_page_down", "Page down", show=False, id="mistakes.page_down"),
        Binding("home,g", "cursor_first", "First", show=False, id="mistakes.first"),
        Binding("end,G", "cursor_last", "Last", show=False, id="mistakes.last"),
        Binding(
            "o",
            "cycle_sort",
            "Order",
            tooltip="Sort by test order, confidence high to low, or low to high",
            id="mistakes.order",
        ),
        Binding(
            "f",
            "step_class('true', 1)",
            "True",
            tooltip="Show only the next true class",
            id="mistakes.filter_true",
        ),
        Binding(
            "F",
            "step_class('predicted', 1)",
            "Pred",
            key_display="F",
            tooltip="Show only the next predicted class",
            id="mistakes.filter_predicted",
        ),
        Binding(
            "b",
            "step_class('true', -1)",
            "True class back",
            show=False,
            tooltip="Show only the true class before",
            id="mistakes.filter_true_back",
        ),
        Binding(
            "B",
            "step_class('predicted', -1)",
            "Predicted back",
            show=False,
            key_display="B",
            tooltip="Show only the predicted class before",
            id="mistakes.filter_predicted_back",
        ),
        Binding(
            "p",
            "pick_class('true')",
            "Pick true class",
            show=False,
            tooltip="Choose the true class from a list (a digit picks it)",
            id="mistakes.pick_true",
        ),
        Binding(
            "P",
            "pick_class('predicted')",
            "Pick predicted class",
            show=False,
            key_display="P",
            tooltip="Choose the predicted class from a list (a digit picks it)",
            id="mistakes.pick_predicted",
        ),
        Binding(
            "c",
            "cycle_outcome",
            "Correct",
            tooltip="Show the mistakes, the correct predictions, or every test example",
            id="mistakes.outcome",
        ),
        Binding(
            "x",
            "clear_filter",
            "Clear",
            tooltip="Show every class again",
            id="mistakes.clear_filter",
        ),
        Binding(
            "i",
            "toggle_detail",
            "Why",
            tooltip="Show or hide why: the ten probabilities, the heat map and the nearest "
            "training images of the highlighted example",
            id="mistakes.detail",
        ),
    ]
    """The gallery's keys: moves hidden from the footer, the main filters shown."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "mistakes-view--cursor",
        "mistakes-view--bar",
        "mistakes-view--title",
        "mistakes-view--label",
        "mistakes-view--true",
        "mistakes-view--predicted",
        "mistakes-view--confidence",
        "mistakes-view--empty",
    }

    DEFAULT_CSS = """
    MistakesView {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: scroll;
        background: $surface;
        & > .mistakes-view--cursor { background: $boost; }
        & > .mistakes-view--bar { color: $foreground-muted; }
        &:focus {
            background-tint: $foreground 5%;
            & > .mistakes-view--cursor { background: $accent 25%; }
            & > .mistakes-view--bar { color: $accent; }
        }
        & > .mistakes-view--title { text-style: bold; }
        & > .mistakes-view--label { color: $text-muted; }
        & > .mistakes-view--true { color: $text-success; text-style: bold; }
        & > .mistakes-view--predicted { color: $text-error; text-style: bold; }
        & > .mistakes-view--confidence { color: $text-warning; }
        & > .mistakes-view--empty { color: $text-muted; text-style: italic; }
    }
    """

    sort_by: reactive[SortOrder] = reactive[SortOrder]("index", init=False)
    """How the gallery is ordered."""

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._images = GalleryImages(_IMAGE_CACHE_SIZE)
        self._list = ExampleList()
        self._foregrounds: dict[Style, Style] = {}
        """``_foreground`` by component style: a handful, one per theme and focus state."""
        self._frame_styles: ItemStyles | None = None
        """What the cells are drawn with while a frame's lines are rendered."""

    # -- public API --------------------------------------------------------------------

    def set_data(
        self,
        evaluation: Evaluation,
        images: npt.NDArray[np.generic],
        available: npt.ArrayLike | None = None,
    ) -> None:
        """Show the test examples of ``evaluation``.

        Args:
            evaluation: The evaluation whose samples to show.
            images: Test images ``(N, height, width)``, indexed like the test set;
                uint8 greys (0 black, 255 white).
            available: Per sample, whether ``images`` holds its image (None: every one).
                Those without one are counted, never drawn.

        The sort order and filter stay as they were; the cursor goes back to the first item.
        """
        height, width = self._images.load(images, evaluation.labels.size)
        self._list.set_evaluation(evaluation, available, height, width)
        self._rebuild(self._list.filter, keep=None)

    def clear(self) -> None:
        """Forget the data and show the empty state."""
        self._images.clear()
        self._list.clear()
        self._rebuild(self._list.filter, keep=None)

    def set_filter(
        self, true_label: int | None, predicted_label: int | None, outcome: Outcome | None = None
    ) -> None:
        """Show only examples of one true class and/or one predicted class (None: any), and
        of one ``outcome`` (None: as it is).

        A narrower or different filter starts at the top of its list; widening it keeps the
        highlighted example under the cursor, so it is seen in context.
        """
        before = self._list.filter
        selection = ExampleFilter(true_label, predicted_label, outcome or before.outcome)
        self._apply_filter(selection)

    @property
    def filter(self) -> ExampleFilter:
        """What the gallery shows."""
        return self._list.filter

    @property
    def has_data(self) -> bool:
        """Whether an evaluation was set."""
        return self._images.loaded

    @property
    def image_render_count(self) -> int:
        """How many images were rendered (not served from the cache): for tests and tuning."""
        return self._images.render_count

    @property
    def examples(self) -> list[Example]:
        """The examples shown, in gallery order."""
        return self._list.shown

    @property
    def total(self) -> int:
        """Examples of the filter's outcome in the evaluation, any class."""
        return self._list.total(self._list.filter.outcome)

    @property
    def cursor(self) -> int:
        """Position of the highlighted item in the gallery as shown."""
        return self._list.cursor

    @property
    def highlighted(self) -> Example | None:
        """The example under the cursor, if any."""
        return self._list.highlighted

    @property
    def columns(self) -> int:
        """Items per gallery row at the current width."""
        return self._list.columns

    @property
    def item_height(self) -> int:
        """Lines per gallery row: the image plus a spacer."""
        return self._list.item_height

    def move_cursor(self, position: int) -> None:
        """Highlight the item at ``position`` (clamped) and scroll it into view."""
        items = self._list
        if not len(items):
            return
        position = items.clamp(position)
        if position != items.cursor:
            old_row = items.row_of(items.cursor)
            items.cursor = position
            self._refresh_row(old_row)
            self._refresh_row(items.row_of(position))
            self._post_highlighted()
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        """Scroll just enough for the whole cursor item to be visible."""
        if not len(self._list) or not self.is_mounted:
            return
        viewport = self.scrollable_content_region.height or self.size.height
        target = self._list.scroll_for_cursor(self.scroll_y, viewport)
        if target is not None:
            self.scroll_to(y=target, animate=False)

    # -- actions -----------------------------------------------------------------------

    def _step(self, offset: int) -> None:
        """Move the cursor by ``offset``; after a wheel scroll, first pick up the view."""
        anchor = self._anchor()
        cursor = self._list.cursor
        self.move_cursor(cursor + offset if anchor == cursor else anchor)

    def action_cursor_up(self) -> None:
        self._step(-self._list.columns)

    def action_cursor_down(self) -> None:
        self._step(self._list.columns)

    def action_cursor_left(self) -> None:
        self._step(-1)

    def action_cursor_right(self) -> None:
        self._step(1)

    def _page_items(self) -> int:
        return self._list.page_items(self.scrollable_content_region.height)

    def _anchor(self) -> int:
        """Where relative moves start: the cursor, or the view after a wheel scroll."""
        items, viewport = self._list, self.scrollable_content_region.height
        if len(items) and not items.cursor_on_screen(self.scroll_y, viewport):
            return items.first_on_screen(self.scroll_offset.y, viewport)
        return items.cursor

    def action_cursor_page_up(self) -> None:
        self.move_cursor(self._anchor() - self._page_items())

    def action_cursor_page_down(self) -> None:
        self.move_cursor(self._anchor() + self._page_items())

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(len(self._list) - 1)

    def action_cycle_sort(self) -> None:
        self.sort_by = SORT_ORDERS[(SORT_ORDERS.index(self.sort_by) + 1) % len(SORT_ORDERS)]

    def action_step_class(self, which: ClassAxis, step: int) -> None:
        self._apply_filter(self._list.step_class(self._list.filter, which, step))

    def action_pick_class(self, which: ClassAxis) -> None:
        selection = self._list.filter
        picker = ClassPicker(
            which,
            self._list.class_counts(selection, which),
            current=selection.class_of(which),
            outcome=selection.outcome,
        )

        def picked(choice: ClassChoice | None) -> None:
            if choice is not None:
                self._apply_filter(self._list.filter.with_class(which, choice.label))

        self.app.push_screen(picker, picked)

    def action_cycle_outcome(self) -> None:
        selection = self._list.filter
        outcome = OUTCOMES[(OUTCOMES.index(selection.outcome) + 1) % len(OUTCOMES)]
        self._apply_filter(ExampleFilter(selection.true, selection.predicted, outcome))

    def action_clear_filter(self) -> None:
        self.set_filter(None, None)

    def action_toggle_detail(self) -> None:
        self.post_message(self.DetailToggled())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide Clear filter while no class is chosen; dim sorting and filtering without
        data."""
        if action == "clear_filter":
            return self._list.filter.has_classes
        if action in ("cycle_sort", "step_class", "pick_class", "cycle_outcome"):
            return self._list.has_data or None
        return True

    # -- reactives ---------------------------------------------------------------------

    def watch_sort_by(self) -> None:
        # A new order is asked for to see its start (say, the most confident mistakes).
        self._rebuild(self._list.filter, keep=None)

    # -- events ------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._update_layout()
        self._post_updated()
        self._post_highlighted()

    def on_resize(self) -> None:
        self._update_layout()
        self.scroll_to_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not len(self._list):
            return
        line = offset.y + self.scroll_offset.y
        position = self._list.position_at(line, offset.x // self._cell_width())
        if position is not None:
            self.move_cursor(position)

    # -- rendering ---------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Every line of a frame shares the widget's styles: work them out once per frame
        # (``rich_style`` combines the styles of every ancestor on each call).
        self._frame_styles = self._item_styles()
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None

    def _item_styles(self) -> ItemStyles:
        return ItemStyles(
            base=self.rich_style,
            cursor=self.get_component_rich_style("mistakes-view--cursor"),
            part=self._foreground,
            console=self.app.console,
        )

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        styles = self._frame_styles or self._item_styles()
        items = self._list
        if not len(items):
            return self._render_empty_line(y, width, styles.base)
        row, line = divmod(self.scroll_offset.y + y, self.item_height)
        cell_width = self._cell_width()
        shown = len(items)
        segments: list[Segment] = []
        used = 0
        for column in range(items.columns):
            position = row * items.columns + column
            if position >= shown:
                break
            if line >= items.image_rows:
                # The spacer under a row: no image needed (nor rendered).
                segments.append(Segment(" " * cell_width, styles.base))
                used += cell_width
                continue
            example = items.at(position)
            segments += item_line(
                example,
                self._images.image(example.index),
                line,
                cell_width,
                counter=f"{position + 1:,} / {shown:,}",
                is_cursor=position == items.cursor,
                styles=styles,
            )
            used += cell_width
        if used < width:
            segments.append(Segment(" " * (width - used), styles.base))
        elif used > width:
            return Strip(segments, used).crop(0, width)
        # Built to the exact width: one Strip, no joins, pads or crops (each a new Strip).
        return Strip(segments, width)

    def _render_empty_line(self, y: int, width: int, base: Style) -> Strip:
        if y != self.size.height // 2:
            return Strip.blank(width, base)
        message = self._list.empty_message()
        text = Text(message, style=base + self._foreground("empty"), no_wrap=True, end="")
        text.truncate(width, overflow="ellipsis")
        return Strip(text.render(self.app.console)).text_align(width, "center")

    def _foreground(self, component: str) -> Style:
        """A component's text colour and attributes, to lay over any background.

        Taken from the full style because partial styles keep theme colours with alpha
        (such as ``$text-muted``) unblended.
        """
        style = self.get_component_rich_style(f"mistakes-view--{component}")
        foreground = self._foregrounds.get(style)
        if foreground is None:
            if len(self._foregrounds) > 64:
                self._foregrounds.clear()  # many theme changes: start again
            foreground = self._foregrounds[style] = style.without_color + Style(color=style.color)
        return foreground

    # -- internals ---------------------------------------------------------------------

    def _cell_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        return max(1, width // self._list.columns)

    def _update_layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self._list.set_width(width)
        self.virtual_size = Size(width, self._list.height)
        self.refresh()

    def _refresh_row(self, row: int) -> None:
        self.refresh_lines(row * self.item_height, self.item_height)

    def _apply_filter(self, selection: ExampleFilter) -> None:
        before = self._list.filter
        self._rebuild(selection, keep=self.highlighted if selection.widens(before) else None)
        self.refresh_bindings()

    def _rebuild(self, selection: ExampleFilter, keep: Example | None) -> None:
        """Apply ``selection`` and the sort order, keeping ``keep`` under the cursor when it
        is still shown."""
        self._list.rebuild(self.sort_by, selection, keep)
        self._update_layout()
        if self.is_mounted:
            # The order changed under the viewport: show the cursor row at the top.
            self.scroll_to(y=self._list.top_of(self._list.cursor), animate=False)
            self._post_updated()
            self._post_highlighted()

    def _post_updated(self) -> None:
        items = self._list
        self.post_message(
            self.Updated(
                self,
                shown=items.matches,
                total=items.total(items.filter.outcome),
                hidden=items.hidden,
                sort_by=self.sort_by,
                selection=items.filter,
                has_data=self.has_data,
            )
        )

    def _post_highlighted(self) -> None:
        example = self._list.highlighted
        if example is not None:
            self.post_message(self.Highlighted(self, example, self._list.cursor))
