"""One cell of the gallery, a line at a time: the cursor bar, the image and its caption.

The caption reads, from the top: the example's index in the test set, its true and predicted
classes, the model's confidence as a number and as a bar, and at the bottom the item's place
in the gallery. ``tui.widgets.mistakes.MistakesView`` calls :func:`item_line` for every cell
of every line it draws, so this builds no more than that line's segments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tui.widgets.halfcell import HalfcellImage
from tui.widgets.mistakes_list import Example

GUTTER: Final = 2
"""Cursor bar plus one space, left of the image."""
GAP: Final = 2
"""Space between the image and its caption."""
CONFIDENCE_BAR_WIDTH: Final = 20
_EIGHTHS: Final = " ▏▎▍▌▋▊▉█"

Part = Callable[[str], Style]
"""A caption component's foreground style by name (``title``, ``label``, ...)."""


def confidence_bar(confidence: float, width: int) -> str:
    """``confidence`` (0 to 1) as a bar of ``width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, confidence)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(width, "·")


def caption(
    example: Example, counter: str, line: int, image_rows: int, width: int, part: Part
) -> Text | None:
    """Line ``line`` of an item's caption (None: a blank line), styled by component."""
    text = Text(no_wrap=True, end="")
    if line == 1:
        text.append(example.title, part("title"))
    elif line == 3:
        text.append("true: ", part("label")).append(example.true_name, part("true"))
    elif line == 4:
        # A right prediction reads in the true class's colour, a wrong one stands out.
        text.append("predicted: ", part("label"))
        text.append(example.predicted_name, part("true" if example.correct else "predicted"))
    elif line == 5:
        text.append("confidence: ", part("label")).append(f"{example.confidence:.1%}")
    elif line == 6:
        bar_width = min(CONFIDENCE_BAR_WIDTH, width)
        text.append(confidence_bar(example.confidence, bar_width), part("confidence"))
    elif line == image_rows - 2:
        text.append(counter, part("label"))
    else:
        return None
    return text


@dataclass(frozen=True, slots=True)
class ItemStyles:
    """What a frame's cells are drawn with."""

    base: Style
    """The view's own style: the background of every cell but the cursor's."""
    cursor: Style
    """The cursor item's background."""
    part: Part
    console: Console


def item_line(
    example: Example,
    image: HalfcellImage,
    line: int,
    width: int,
    *,
    counter: str,
    is_cursor: bool,
    styles: ItemStyles,
) -> list[Segment]:
    """Line ``line`` (of the image's height) of the cell showing ``example``: segments
    exactly ``width`` cells long."""
    background = styles.cursor if is_cursor else styles.base
    bar_style = background + styles.part("bar")
    segments = [Segment("▌" if is_cursor else " ", bar_style), Segment(" ", background)]
    segments += image.line(line)
    text_width = width - GUTTER - image.width - GAP
    if text_width <= 0:
        # Too narrow for a caption: the image, cut at the cell's edge.
        strip = Strip(segments, GUTTER + image.width)
        return list(strip.extend_cell_length(width, background).crop(0, width))
    segments.append(Segment(" " * GAP, background))
    text = caption(example, counter, line, image.height, text_width, styles.part)
    if text is None:
        return [*segments, Segment(" " * text_width, background)]
    text.style = background
    text.truncate(text_width, overflow="ellipsis")
    segments += text.render(styles.console)
    if text.cell_len < text_width:
        segments.append(Segment(" " * (text_width - text.cell_len), background))
    return segments
