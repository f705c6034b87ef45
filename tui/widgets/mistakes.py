"""A virtualised gallery of misclassified test images.

Only the lines on screen are ever built (Textual's Line API), and each image is rendered once
and then served from a cache (``tui.widgets.halfcell``), so the view stays smooth with
thousands of mistakes. What is shown, in which order, the cursor and the grid arithmetic live
in a plain list model (``tui.widgets.mistakes_list``); this view draws it and handles keys,
mouse and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from core.evaluation import Evaluation, Mistake
from tui.widgets.halfcell import (
    GalleryImages,
    HalfcellImage,
    render_image_strips,
    rich_pixels_strips,
)
from tui.widgets.mistakes_list import (
    SORT_LABELS,
    SORT_ORDERS,
    MistakeList,
    SortOrder,
    check_class,
    describe_view,
)

__all__ = [
    "SORT_LABELS",
    "SORT_ORDERS",
    "HalfcellImage",
    "MistakesPane",
    "MistakesView",
    "SortOrder",
    "describe_view",
    "render_image_strips",
    "rich_pixels_strips",
]

NO_DATA_MESSAGE: Final = "No mistakes yet: train a model (press t)"
NO_MISTAKES_MESSAGE: Final = "No mistakes: every test image was classified correctly"
NO_MATCH_MESSAGE: Final = "No mistakes match the filter (press x to clear it)"

_GUTTER: Final = 2
"""Cursor bar plus one space, left of the image."""
_GAP: Final = 2
"""Space between the image and its caption."""
_IMAGE_CACHE_SIZE: Final = 1024
"""Rendered images kept: many screens of scrolling back and forth, a few kB each."""
Part = Callable[[str], Style]
"""A component's foreground style by name (``title``, ``label``, ...)."""
_CONFIDENCE_BAR_WIDTH: Final = 20
_EIGHTHS: Final = " ▏▎▍▌▋▊▉█"


def _confidence_bar(confidence: float, width: int) -> str:
    eighths = round(max(0.0, min(1.0, confidence)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(width, "·")


def _caption(
    mistake: Mistake, counter: str, line: int, image_rows: int, width: int, part: Part
) -> Text | None:
    """Line ``line`` of an item's caption (None: a blank line), styled by component."""
    text = Text(no_wrap=True, end="")
    if line == 1:
        text.append(f"test #{mistake.index}", part("title"))
    elif line == 3:
        text.append("true: ", part("label")).append(mistake.true_name, part("true"))
    elif line == 4:
        text.append("predicted: ", part("label"))
        text.append(mistake.predicted_name, part("predicted"))
    elif line == 5:
        text.append("confidence: ", part("label")).append(f"{mistake.confidence:.1%}")
    elif line == 6:
        bar_width = min(_CONFIDENCE_BAR_WIDTH, width)
        text.append(_confidence_bar(mistake.confidence, bar_width), part("confidence"))
    elif line == image_rows - 2:
        text.append(counter, part("label"))
    else:
        return None
    return text


def _empty_message(has_data: bool, any_mistakes: bool) -> str:
    if not has_data:
        return NO_DATA_MESSAGE
    return NO_MATCH_MESSAGE if any_mistakes else NO_MISTAKES_MESSAGE


class HighlightedBase(Message):
    """The cursor moved onto a mistake."""

    def __init__(self, view: MistakesView, mistake: Mistake, position: int) -> None:
        super().__init__()
        self.view = view
        self.mistake = mistake
        """The highlighted mistake."""
        self.position = position
        """Its position in the gallery as shown (sorted and filtered)."""

    @property
    def control(self) -> MistakesView:
        return self.view


class UpdatedBase(Message):
    """What the gallery shows changed: data, sort order or filter."""

    def __init__(
        self,
        view: MistakesView,
        shown: int,
        total: int,
        sort_by: SortOrder,
        true_filter: int | None,
        predicted_filter: int | None,
        has_data: bool,
    ) -> None:
        super().__init__()
        self.view = view
        self.shown = shown
        """Mistakes left after the filter."""
        self.total = total
        """Mistakes in the evaluation."""
        self.sort_by: SortOrder = sort_by
        self.true_filter = true_filter
        self.predicted_filter = predicted_filter
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
        return describe_view(
            self.shown, self.total, self.sort_by, self.true_filter, self.predicted_filter
        )


KEYS: Final[list[BindingType]] = [
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
        "cycle_true_filter",
        "True class",
        tooltip="Show only mistakes of the next true class",
        id="mistakes.filter_true",
    ),
    Binding(
        "F",
        "cycle_predicted_filter",
        "Predicted",
        key_display="F",
        tooltip="Show only mistakes predicted as the next class",
        id="mistakes.filter_predicted",
    ),
    Binding(
        "x",
        "clear_filter",
        "Clear filter",
        tooltip="Show mistakes of every class",
        id="mistakes.clear_filter",
    ),
]
"""The gallery's keys: moves hidden from the footer, sorting and filtering shown."""


class MistakesView(ScrollView, can_focus=True):
    """Misclassified test images with their true and predicted classes.

    Items are laid out in as many columns as fit (one at 80 columns). A cursor highlights one
    item; keys move it, sort the gallery and filter it by true or predicted class.
    """

    BINDINGS: ClassVar[list[BindingType]] = KEYS

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
    true_filter: reactive[int | None] = reactive[int | None](None, init=False, bindings=True)
    """Show only mistakes whose true class is this, or every class when None."""
    predicted_filter: reactive[int | None] = reactive[int | None](None, init=False, bindings=True)
    """Show only mistakes predicted as this class, or every class when None."""

    class Highlighted(HighlightedBase):
        """The cursor moved onto a mistake."""

    class Updated(UpdatedBase):
        """What the gallery shows changed: data, sort order or filter."""

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
        self._list = MistakeList()
        self._foregrounds: dict[Style, Style] = {}
        """``_foreground`` by component style: a handful, one per theme and focus state."""
        self._frame_style: Style | None = None
        """The widget's style while a frame's lines are rendered."""

    # -- public API --------------------------------------------------------------------

    def set_data(self, evaluation: Evaluation, images: npt.NDArray[np.generic]) -> None:
        """Show the mistakes of ``evaluation``.

        Args:
            evaluation: The evaluation whose misclassified samples to show.
            images: Test images ``(N, height, width)``, indexed like the test set;
                uint8 greys (0 black, 255 white).

        The sort order and filter stay as they were; the cursor goes back to the first item.
        """
        height, width = self._images.load(images, evaluation.labels.size)
        self._list.set_mistakes(evaluation.mistakes(), height, width)
        self._rebuild(keep=None)

    def clear(self) -> None:
        """Forget the data and show the empty state."""
        self._images.clear()
        self._list.clear()
        self._rebuild(keep=None)

    def set_filter(self, true_label: int | None, predicted_label: int | None) -> None:
        """Show only mistakes of one true class and/or one predicted class (None: any).

        A narrower or different filter starts at the top of its list; clearing part of it
        keeps the highlighted mistake under the cursor, so it is seen in context.
        """
        check_class(true_label)
        check_class(predicted_label)
        keeps_true = true_label in (None, self.true_filter)
        widens = keeps_true and predicted_label in (None, self.predicted_filter)
        self.set_reactive(MistakesView.true_filter, true_label)
        self.set_reactive(MistakesView.predicted_filter, predicted_label)
        self.refresh_bindings()
        self._rebuild(keep=self.highlighted if widens else None)

    @property
    def has_data(self) -> bool:
        """Whether an evaluation was set."""
        return self._images.loaded

    @property
    def image_render_count(self) -> int:
        """How many images were rendered (not served from the cache): for tests and tuning."""
        return self._images.render_count

    @property
    def mistakes(self) -> list[Mistake]:
        """The mistakes shown, in gallery order."""
        return list(self._list.shown)

    @property
    def total(self) -> int:
        """Mistakes in the evaluation, before filtering."""
        return len(self._list.all)

    @property
    def cursor(self) -> int:
        """Position of the highlighted item in the gallery as shown."""
        return self._list.cursor

    @property
    def highlighted(self) -> Mistake | None:
        """The mistake under the cursor, if any."""
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
        if not items.shown:
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
        if not self._list.shown or not self.is_mounted:
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
        if items.shown and not items.cursor_on_screen(self.scroll_y, viewport):
            return items.first_on_screen(self.scroll_offset.y, viewport)
        return items.cursor

    def action_cursor_page_up(self) -> None:
        self.move_cursor(self._anchor() - self._page_items())

    def action_cursor_page_down(self) -> None:
        self.move_cursor(self._anchor() + self._page_items())

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(len(self._list.shown) - 1)

    def action_cycle_sort(self) -> None:
        self.sort_by = SORT_ORDERS[(SORT_ORDERS.index(self.sort_by) + 1) % len(SORT_ORDERS)]

    def action_cycle_true_filter(self) -> None:
        true = self._list.next_true_filter(self.true_filter, self.predicted_filter)
        self.set_filter(true, self.predicted_filter)

    def action_cycle_predicted_filter(self) -> None:
        predicted = self._list.next_predicted_filter(self.true_filter, self.predicted_filter)
        self.set_filter(self.true_filter, predicted)

    def action_clear_filter(self) -> None:
        self.set_filter(None, None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide Clear filter while no filter is on; dim sorting and filtering without data."""
        if action == "clear_filter":
            return self.true_filter is not None or self.predicted_filter is not None
        if action in ("cycle_sort", "cycle_true_filter", "cycle_predicted_filter"):
            return bool(self._list.all) or None
        return True

    # -- reactives ---------------------------------------------------------------------

    def watch_sort_by(self) -> None:
        # A new order is asked for to see its start (say, the most confident mistakes).
        self._rebuild(keep=None)

    def watch_true_filter(self, new: int | None) -> None:
        self._rebuild(keep=self.highlighted if new is None else None)

    def watch_predicted_filter(self, new: int | None) -> None:
        self._rebuild(keep=self.highlighted if new is None else None)

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
        if offset is None or not self._list.shown:
            return
        line = offset.y + self.scroll_offset.y
        position = self._list.position_at(line, offset.x // self._cell_width())
        if position is not None:
            self.move_cursor(position)

    # -- rendering ---------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Every line of a frame shares the widget's style: work it out once per frame
        # (``rich_style`` combines the styles of every ancestor on each call).
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._frame_style or self.rich_style
        items = self._list
        if not items.shown:
            return self._render_empty_line(y, width, base)
        row, line = divmod(self.scroll_offset.y + y, self.item_height)
        cell_width = self._cell_width()
        segments: list[Segment] = []
        used = 0
        for column in range(items.columns):
            position = row * items.columns + column
            if position >= len(items.shown):
                break
            segments += self._render_item_line(position, line, cell_width, base)
            used += cell_width
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        elif used > width:
            return Strip(segments, used).crop(0, width)
        # Built to the exact width: one Strip, no joins, pads or crops (each a new Strip).
        return Strip(segments, width)

    def _render_empty_line(self, y: int, width: int, base: Style) -> Strip:
        if y != self.size.height // 2:
            return Strip.blank(width, base)
        message = _empty_message(self.has_data, bool(self._list.all))
        text = Text(message, style=base + self._foreground("empty"), no_wrap=True, end="")
        text.truncate(width, overflow="ellipsis")
        return Strip(text.render(self.app.console)).text_align(width, "center")

    def _render_item_line(self, position: int, line: int, width: int, base: Style) -> list[Segment]:
        """One line of one gallery cell: segments exactly ``width`` cells long."""
        items = self._list
        if line >= items.image_rows:
            return [Segment(" " * width, base)]
        mistake = items.shown[position]
        is_cursor = position == items.cursor
        background = self.get_component_rich_style("mistakes-view--cursor") if is_cursor else base
        bar_style = background + self._foreground("bar")
        segments = [Segment("▌" if is_cursor else " ", bar_style), Segment(" ", background)]
        segments += self._images.image(mistake.index).line(line)
        text_width = width - _GUTTER - items.image_width - _GAP
        if text_width <= 0:
            # Too narrow for a caption: the image, cut at the cell's edge.
            strip = Strip(segments, _GUTTER + items.image_width)
            return list(strip.extend_cell_length(width, background).crop(0, width))
        segments.append(Segment(" " * _GAP, background))
        counter = f"{position + 1:,} / {len(items.shown):,}"
        caption = _caption(mistake, counter, line, items.image_rows, text_width, self._foreground)
        if caption is None:
            return [*segments, Segment(" " * text_width, background)]
        caption.style = background
        caption.truncate(text_width, overflow="ellipsis")
        segments += caption.render(self.app.console)
        if caption.cell_len < text_width:
            segments.append(Segment(" " * (text_width - caption.cell_len), background))
        return segments

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

    def _rebuild(self, keep: Mistake | None) -> None:
        """Apply filter and sort, keeping ``keep`` under the cursor when it is still shown."""
        self._list.rebuild(self.sort_by, self.true_filter, self.predicted_filter, keep)
        self._update_layout()
        if self.is_mounted:
            # The order changed under the viewport: show the cursor row at the top.
            self.scroll_to(y=self._list.top_of(self._list.cursor), animate=False)
            self._post_updated()
            self._post_highlighted()

    def _post_updated(self) -> None:
        self.post_message(
            self.Updated(
                self,
                shown=len(self._list.shown),
                total=len(self._list.all),
                sort_by=self.sort_by,
                true_filter=self.true_filter,
                predicted_filter=self.predicted_filter,
                has_data=self.has_data,
            )
        )

    def _post_highlighted(self) -> None:
        mistake = self._list.highlighted
        if mistake is not None:
            self.post_message(self.Highlighted(self, mistake, self._list.cursor))


class MistakesPane(Vertical):
    """The mistakes gallery under a one-line status: count, sort order and filter."""

    DEFAULT_CSS = """
    MistakesPane {
        height: 1fr;
        & > #mistakes-status {
            height: auto;
            padding: 0 1;
            background: $panel;
            color: $text-muted;
        }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("No evaluation yet", id="mistakes-status", markup=False)
        yield MistakesView(id="mistakes-view")

    @property
    def view(self) -> MistakesView:
        """The gallery itself."""
        return self.query_one(MistakesView)

    def set_data(self, evaluation: Evaluation, images: npt.NDArray[np.generic]) -> None:
        """See `MistakesView.set_data`."""
        self.view.set_data(evaluation, images)

    def set_filter(self, true_label: int | None, predicted_label: int | None) -> None:
        """See `MistakesView.set_filter`."""
        self.view.set_filter(true_label, predicted_label)

    def clear(self) -> None:
        """See `MistakesView.clear`."""
        self.view.clear()

    def on_mistakes_view_updated(self, message: MistakesView.Updated) -> None:
        # Not stopped: the app may also want the count, e.g. for a tab label.
        self.query_one("#mistakes-status", Static).update(message.summary)
