"""A virtualised gallery of misclassified test images.

Only the lines on screen are ever built (Textual's Line API), and each image is rendered once
and then served from a cache, so the view stays smooth with thousands of mistakes.

Images are drawn as rich-pixels' ``HalfcellRenderer`` draws them (two pixel rows per terminal
row: a lower half block in the lower pixel's grey on the upper pixel's grey), by a vectorised
path that yields exactly the same segments (a test compares it with rich-pixels) at about a
third of the cost. A cached image is a few NumPy arrays, not hundreds of styles and segments
that every full garbage collection (which stops every thread) would have to walk; a line's
segments are made as it is drawn, with styles shared between images.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar, Final, Literal

import numpy as np
import numpy.typing as npt
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from core.evaluation import CLASS_NAMES, Evaluation, Mistake

SortOrder = Literal["index", "confidence_desc", "confidence_asc"]
SORT_ORDERS: Final[tuple[SortOrder, ...]] = ("index", "confidence_desc", "confidence_asc")
SORT_LABELS: Final[dict[SortOrder, str]] = {
    "index": "test order",
    "confidence_desc": "confidence ↓",
    "confidence_asc": "confidence ↑",
}

NO_DATA_MESSAGE: Final = "No mistakes yet: train a model (press t)"
NO_MISTAKES_MESSAGE: Final = "No mistakes: every test image was classified correctly"
NO_MATCH_MESSAGE: Final = "No mistakes match the filter (press x to clear it)"

_GUTTER: Final = 2
"""Cursor bar plus one space, left of the image."""
_GAP: Final = 2
"""Space between the image and its caption."""
_MIN_CELL_WIDTH: Final = 56
"""Narrowest gallery cell that still fits ``predicted: T-shirt/top`` beside a 28-px image."""
_IMAGE_CACHE_SIZE: Final = 1024
"""Rendered images kept: many screens of scrolling back and forth, a few kB each."""
_CONFIDENCE_BAR_WIDTH: Final = 20
_EIGHTHS: Final = " ▏▎▍▌▋▊▉█"
_HALF_BLOCK: Final = "▄"

UInt8Images = npt.NDArray[np.uint8]


@lru_cache(maxsize=256)
def _grey(level: int) -> Color:
    """The truecolor grey rich-pixels names ``rgb(level,level,level)``."""
    return Color.parse(f"rgb({level},{level},{level})")


@lru_cache(maxsize=16384)
def _half_cell_style(pair: int) -> Style:
    """The style of a half cell whose grey pair is ``upper << 8 | lower``: the lower pixel
    as foreground, the upper as background, equal to the one rich-pixels parses for it.

    Shared while cached, with the greys shared between all of them. Not all 65,536 pairs:
    a thousand images use some 35,000, each a Style that every full garbage collection
    would walk, while making a missing one costs a few microseconds.
    """
    return Style(color=_grey(pair & 0xFF), bgcolor=_grey(pair >> 8))


_HALF_BLOCKS: Final = tuple(_HALF_BLOCK * count for count in range(257))
"""Runs of half blocks, shared by every segment of that length (images up to 256 wide)."""


class HalfcellImage:
    """A greyscale image as runs of half cells, ready to be drawn a line at a time.

    Held in NumPy arrays, which the garbage collector never walks; the segments of a line are
    made when it is drawn, from shared ones.
    """

    __slots__ = ("_counts", "_line_starts", "_pairs", "height", "width")

    def __init__(self, image: npt.NDArray[np.generic]) -> None:
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        if pixels.ndim != 2:
            raise ValueError(f"need one greyscale image (height, width), got {pixels.shape}")
        if pixels.shape[0] % 2:
            pixels = _stretch_to_even_height(pixels)
        rows, width = pixels.shape[0] // 2, pixels.shape[1]
        pairs = (pixels[0::2].astype(np.int32) << 8) | pixels[1::2]
        starts = np.ones(pairs.shape, dtype=bool)
        starts[:, 1:] = pairs[:, 1:] != pairs[:, :-1]
        begin = np.flatnonzero(starts)
        self._pairs = pairs.ravel()[begin]
        self._counts = np.diff(begin, append=pairs.size)
        self._line_starts = np.searchsorted(begin, np.arange(rows + 1) * width).tolist()
        self.height = rows
        """Terminal lines."""
        self.width = width
        """Cells per line."""

    def line(self, y: int) -> list[Segment]:
        """Line ``y``'s segments."""
        start, end = self._line_starts[y], self._line_starts[y + 1]
        pairs = self._pairs[start:end].tolist()
        counts = self._counts[start:end].tolist()
        blocks = _HALF_BLOCKS if self.width < len(_HALF_BLOCKS) else None
        return [
            Segment(blocks[count] if blocks else _HALF_BLOCK * count, _half_cell_style(pair))
            for pair, count in zip(pairs, counts, strict=True)
        ]


def _stretch_to_even_height(pixels: UInt8Images) -> UInt8Images:
    """One pixel row taller, as rich-pixels' ``HalfcellRenderer`` resizes an odd height."""
    from PIL import Image

    height, width = pixels.shape
    stretched = Image.fromarray(pixels).resize((width, height + 1), Image.Resampling.NEAREST)
    return np.asarray(stretched, dtype=np.uint8)


def render_image_strips(image: npt.NDArray[np.generic]) -> list[Strip]:
    """Render one greyscale image as half-block lines: two pixel rows per terminal row.

    The upper pixel is the cell's background, the lower one the half block's colour, as
    rich-pixels' ``HalfcellRenderer`` draws them, with the same segments (runs of one colour
    pair merged, as ``Strip.simplify`` would). Grey levels become truecolor greys; on
    256-colour terminals Rich maps them onto the grey ramp, which still reads.
    """
    rendered = HalfcellImage(image)
    return [Strip(rendered.line(y), rendered.width) for y in range(rendered.height)]


def rich_pixels_strips(image: npt.NDArray[np.generic]) -> list[Strip]:
    """The image drawn by rich-pixels itself: what ``render_image_strips`` reproduces."""
    from PIL import Image
    from rich_pixels import HalfcellRenderer

    grey = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    segments = HalfcellRenderer().render(grey.convert("RGB"), None)
    width = grey.width
    return [
        Strip(line, width).simplify()
        for line in Segment.split_lines(segments)
        if Segment.get_line_length(line)
    ]


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


def _confidence_bar(confidence: float, width: int) -> str:
    eighths = round(max(0.0, min(1.0, confidence)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(width, "·")


class MistakesView(ScrollView, can_focus=True):
    """Misclassified test images with their true and predicted classes.

    Items are laid out in as many columns as fit (one at 80 columns). A cursor highlights one
    item; keys move it, sort the gallery and filter it by true or predicted class.
    """

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

    class Highlighted(Message):
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

    class Updated(Message):
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

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._images: UInt8Images | None = None
        self._all: list[Mistake] = []
        self._shown: list[Mistake] = []
        self._cursor = 0
        self._image_cache: LRUCache[int, HalfcellImage] = LRUCache(_IMAGE_CACHE_SIZE)
        self._foregrounds: dict[Style, Style] = {}
        """``_foreground`` by component style: a handful, one per theme and focus state."""
        self._frame_style: Style | None = None
        """The widget's style while a frame's lines are rendered."""
        self.image_render_count = 0
        """How many images were rendered (not served from the cache): for tests and tuning."""
        self._image_width = 28
        self._image_rows = 14
        self._columns = 1

    # -- public API --------------------------------------------------------------------

    def set_data(self, evaluation: Evaluation, images: npt.NDArray[np.generic]) -> None:
        """Show the mistakes of ``evaluation``.

        Args:
            evaluation: The evaluation whose misclassified samples to show.
            images: Test images ``(N, height, width)``, indexed like the test set;
                uint8 greys (0 black, 255 white).

        The sort order and filter stay as they were; the cursor goes back to the first item.
        """
        pixels = np.asarray(images)
        if pixels.ndim != 3:
            raise ValueError(f"images must be (N, height, width), got {pixels.shape}")
        if pixels.shape[0] < evaluation.labels.size:
            raise ValueError(f"{pixels.shape[0]} images for {evaluation.labels.size} test samples")
        self._images = pixels.astype(np.uint8, copy=False)
        self._image_rows = (pixels.shape[1] + 1) // 2
        self._image_width = pixels.shape[2]
        self._all = evaluation.mistakes()
        self._image_cache.clear()
        self._cursor = 0
        self._rebuild(keep=None)

    def clear(self) -> None:
        """Forget the data and show the empty state."""
        self._images = None
        self._all = []
        self._image_cache.clear()
        self._cursor = 0
        self._rebuild(keep=None)

    def set_filter(self, true_label: int | None, predicted_label: int | None) -> None:
        """Show only mistakes of one true class and/or one predicted class (None: any).

        A narrower or different filter starts at the top of its list; clearing part of it
        keeps the highlighted mistake under the cursor, so it is seen in context.
        """
        for label in (true_label, predicted_label):
            if label is not None and not 0 <= label < len(CLASS_NAMES):
                raise ValueError(f"no class {label}")
        keeps_true = true_label in (None, self.true_filter)
        widens = keeps_true and predicted_label in (None, self.predicted_filter)
        self.set_reactive(MistakesView.true_filter, true_label)
        self.set_reactive(MistakesView.predicted_filter, predicted_label)
        self.refresh_bindings()
        self._rebuild(keep=self.highlighted if widens else None)

    @property
    def has_data(self) -> bool:
        """Whether an evaluation was set."""
        return self._images is not None

    @property
    def mistakes(self) -> list[Mistake]:
        """The mistakes shown, in gallery order."""
        return list(self._shown)

    @property
    def total(self) -> int:
        """Mistakes in the evaluation, before filtering."""
        return len(self._all)

    @property
    def cursor(self) -> int:
        """Position of the highlighted item in the gallery as shown."""
        return self._cursor

    @property
    def highlighted(self) -> Mistake | None:
        """The mistake under the cursor, if any."""
        return self._shown[self._cursor] if self._shown else None

    @property
    def columns(self) -> int:
        """Items per gallery row at the current width."""
        return self._columns

    @property
    def item_height(self) -> int:
        """Lines per gallery row: the image plus a spacer."""
        return self._image_rows + 1

    def move_cursor(self, position: int) -> None:
        """Highlight the item at ``position`` (clamped) and scroll it into view."""
        if not self._shown:
            return
        position = max(0, min(len(self._shown) - 1, position))
        if position != self._cursor:
            old_row = self._cursor // self._columns
            self._cursor = position
            self._refresh_row(old_row)
            self._refresh_row(position // self._columns)
            self._post_highlighted()
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        """Scroll just enough for the whole cursor item to be visible."""
        if not self._shown or not self.is_mounted:
            return
        top = (self._cursor // self._columns) * self.item_height
        bottom = top + self._image_rows
        viewport = self.scrollable_content_region.height or self.size.height
        if top < self.scroll_y or self._image_rows > viewport:
            self.scroll_to(y=top, animate=False)
        elif bottom > self.scroll_y + viewport:
            self.scroll_to(y=bottom - viewport, animate=False)

    # -- actions -----------------------------------------------------------------------

    def _step(self, offset: int) -> None:
        """Move the cursor by ``offset``; after a wheel scroll, first pick up the view."""
        anchor = self._anchor()
        self.move_cursor(self._cursor + offset if anchor == self._cursor else anchor)

    def action_cursor_up(self) -> None:
        self._step(-self._columns)

    def action_cursor_down(self) -> None:
        self._step(self._columns)

    def action_cursor_left(self) -> None:
        self._step(-1)

    def action_cursor_right(self) -> None:
        self._step(1)

    def _page_items(self) -> int:
        rows = max(1, self.scrollable_content_region.height // self.item_height)
        return rows * self._columns

    def _anchor(self) -> int:
        """Where relative moves start: the cursor, or the view after a wheel scroll."""
        if self._shown and not self._cursor_on_screen():
            return self._first_on_screen()
        return self._cursor

    def action_cursor_page_up(self) -> None:
        self.move_cursor(self._anchor() - self._page_items())

    def action_cursor_page_down(self) -> None:
        self.move_cursor(self._anchor() + self._page_items())

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(len(self._shown) - 1)

    def action_cycle_sort(self) -> None:
        self.sort_by = SORT_ORDERS[(SORT_ORDERS.index(self.sort_by) + 1) % len(SORT_ORDERS)]

    def action_cycle_true_filter(self) -> None:
        present = {
            m.true_label
            for m in self._all
            if self.predicted_filter is None or m.predicted_label == self.predicted_filter
        }
        self.set_filter(_next_in_cycle(self.true_filter, present), self.predicted_filter)

    def action_cycle_predicted_filter(self) -> None:
        present = {
            m.predicted_label
            for m in self._all
            if self.true_filter is None or m.true_label == self.true_filter
        }
        self.set_filter(self.true_filter, _next_in_cycle(self.predicted_filter, present))

    def action_clear_filter(self) -> None:
        self.set_filter(None, None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide Clear filter while no filter is on; dim sorting and filtering without data."""
        if action == "clear_filter":
            return self.true_filter is not None or self.predicted_filter is not None
        if action in ("cycle_sort", "cycle_true_filter", "cycle_predicted_filter"):
            return bool(self._all) or None
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
        if offset is None or not self._shown:
            return
        row = (offset.y + self.scroll_offset.y) // self.item_height
        column = min(self._columns - 1, offset.x // self._cell_width())
        position = row * self._columns + column
        if position < len(self._shown):
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
        if not self._shown:
            return self._render_empty_line(y, width, base)
        row, line = divmod(self.scroll_offset.y + y, self.item_height)
        cell_width = self._cell_width()
        segments: list[Segment] = []
        used = 0
        for column in range(self._columns):
            position = row * self._columns + column
            if position >= len(self._shown):
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
        if not self.has_data:
            message = NO_DATA_MESSAGE
        elif not self._all:
            message = NO_MISTAKES_MESSAGE
        else:
            message = NO_MATCH_MESSAGE
        style = base + self._foreground("empty")
        text = Text(message, style=style, no_wrap=True, end="")
        text.truncate(width, overflow="ellipsis")
        return Strip(text.render(self.app.console)).text_align(width, "center")

    def _render_item_line(self, position: int, line: int, width: int, base: Style) -> list[Segment]:
        """One line of one gallery cell: segments exactly ``width`` cells long."""
        if line >= self._image_rows:
            return [Segment(" " * width, base)]
        mistake = self._shown[position]
        is_cursor = position == self._cursor
        background = self.get_component_rich_style("mistakes-view--cursor") if is_cursor else base
        bar_style = background + self._foreground("bar")
        segments = [Segment("▌" if is_cursor else " ", bar_style), Segment(" ", background)]
        segments += self._image(mistake.index).line(line)
        text_width = width - _GUTTER - self._image_width - _GAP
        if text_width <= 0:
            # Too narrow for a caption: the image, cut at the cell's edge.
            strip = Strip(segments, _GUTTER + self._image_width)
            return list(strip.extend_cell_length(width, background).crop(0, width))
        segments.append(Segment(" " * _GAP, background))
        segments += self._caption_line(mistake, position, line, text_width, background)
        return segments

    def _caption_line(
        self, mistake: Mistake, position: int, line: int, width: int, background: Style
    ) -> list[Segment]:
        """The caption's part of an item line, exactly ``width`` cells long."""
        part = self._foreground
        text = Text(style=background, no_wrap=True, end="")
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
        elif line == self._image_rows - 2:
            text.append(f"{position + 1:,} / {len(self._shown):,}", part("label"))
        else:
            return [Segment(" " * width, background)]
        text.truncate(width, overflow="ellipsis")
        segments = list(text.render(self.app.console))
        length = text.cell_len
        if length < width:
            segments.append(Segment(" " * (width - length), background))
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

    def _image(self, test_index: int) -> HalfcellImage:
        image = self._image_cache.get(test_index)
        if image is None:
            assert self._images is not None
            image = HalfcellImage(self._images[test_index])
            self.image_render_count += 1
            self._image_cache[test_index] = image
        return image

    # -- internals ---------------------------------------------------------------------

    def _cell_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        return max(1, width // self._columns)

    def _update_layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self._columns = max(1, width // _MIN_CELL_WIDTH)
        rows = -(-len(self._shown) // self._columns)
        self.virtual_size = Size(width, rows * self.item_height)
        self.refresh()

    def _cursor_on_screen(self) -> bool:
        top = (self._cursor // self._columns) * self.item_height
        viewport = self.scrollable_content_region.height
        return self.scroll_y - self._image_rows < top < self.scroll_y + viewport

    def _first_on_screen(self) -> int:
        """The first item whose top line is on screen (or the one filling the screen)."""
        row = -(-self.scroll_offset.y // self.item_height)
        if row * self.item_height >= self.scroll_offset.y + self.scrollable_content_region.height:
            row = self.scroll_offset.y // self.item_height
        return min(row * self._columns, len(self._shown) - 1)

    def _refresh_row(self, row: int) -> None:
        self.refresh_lines(row * self.item_height, self.item_height)

    def _rebuild(self, keep: Mistake | None) -> None:
        """Apply filter and sort, keeping ``keep`` under the cursor when it is still shown."""
        shown = [
            m
            for m in self._all
            if (self.true_filter is None or m.true_label == self.true_filter)
            and (self.predicted_filter is None or m.predicted_label == self.predicted_filter)
        ]
        if self.sort_by == "confidence_desc":
            shown.sort(key=lambda m: (-m.confidence, m.index))
        elif self.sort_by == "confidence_asc":
            shown.sort(key=lambda m: (m.confidence, m.index))
        self._shown = shown
        positions = {m.index: i for i, m in enumerate(shown)}
        self._cursor = positions.get(keep.index, 0) if keep is not None else 0
        self._update_layout()
        if self.is_mounted:
            # The order changed under the viewport: show the cursor row at the top.
            self.scroll_to(y=(self._cursor // self._columns) * self.item_height, animate=False)
            self._post_updated()
            self._post_highlighted()

    def _post_updated(self) -> None:
        self.post_message(
            self.Updated(
                self,
                shown=len(self._shown),
                total=len(self._all),
                sort_by=self.sort_by,
                true_filter=self.true_filter,
                predicted_filter=self.predicted_filter,
                has_data=self.has_data,
            )
        )

    def _post_highlighted(self) -> None:
        if self._shown:
            self.post_message(self.Highlighted(self, self._shown[self._cursor], self._cursor))


def _next_in_cycle(current: int | None, present: set[int]) -> int | None:
    """The next class after ``current`` among ``present``, wrapping round through None."""
    after = sorted(c for c in present if current is None or c > current)
    return after[0] if after else None


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
