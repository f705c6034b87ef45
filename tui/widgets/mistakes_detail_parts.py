"""The pieces of the Mistakes tab's detail panel, as lines of segments: the heat map, the
probability bars and the nearest training images' thumbnails.

Plain functions of numpy arrays and styles, so the panel (``tui.widgets.mistakes_detail``)
builds each piece once per explanation and tests read them without an app.

The heat map reads without colour too. Under ``NO_COLOR`` Textual draws every colour as its
grey, so the two kinds of evidence differ in shape, not only in hue: what spoke for the
prediction is a solid, bright (orange) half-block pixel over the dimmed image, and what argued
against the true class is shading, ``░ ▒ ▓`` by strength (blue), one character for the two
pixel rows of a cell.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from core.evaluation import CLASS_NAMES, SHORT_CLASS_NAMES
from core.explanation import MAP_FLOOR
from tui.widgets.halfcell import HalfcellImage
from tui.widgets.mistakes_item import confidence_bar

UInt8Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]
Line = list[Segment]
RGB = tuple[int, int, int]
Cell = tuple[str, RGB, RGB]
"""A character, its colour and its background."""

HALF_BLOCK: Final = "▄"
EVIDENCE_RGB: Final[RGB] = (255, 122, 24)
"""What spoke for the prediction: orange, bright even as a grey (``NO_COLOR``)."""
AGAINST_RGB: Final[RGB] = (64, 156, 255)
"""What argued against the true class: blue, drawn as shading."""
DIM: Final = 0.45
"""The image under the map, this bright: the map stands out and the garment stays in view."""
SHADES: Final = ("░", "▒", "▓")
SHADE_FROM: Final = 0.15
"""A cell's against-the-true-class strength from which it is shaded (weaker: not drawn)."""
NAME_WIDTH: Final = max(len(name) for name in CLASS_NAMES)
SHORT_NAME_WIDTH: Final = max(len(name) for name in SHORT_CLASS_NAMES)
MARKER_WIDTH: Final = 4
"""``true``, ``pred`` or ``both`` after a bar."""
MARKER_WIDTH_SHORT: Final = 1
"""``T``, ``P`` or ``*`` after a bar in the narrow panel."""
MIN_BAR_WIDTH: Final = 4
"""Narrower than this a bar says less than its number."""


COLOUR_STEP: Final = 8
"""The heat map's colours are rounded to multiples of this per channel (a step of 3% that the
dimmed garment does not show). Every distinct colour pair is a Style that lives in our cache
and in Textual's render caches: unrounded, each explanation made some 150 new ones, and those
long-lived objects are what Python's full garbage collections walk, every thread stopped, the
UI's included. Rounded, they repeat from one explanation to the next."""
STYLE_CACHE_SIZE: Final = 8192


@lru_cache(maxsize=512)
def _colour(rgb: RGB) -> Color:
    return Color.from_rgb(*rgb)


@lru_cache(maxsize=STYLE_CACHE_SIZE)
def _rgb_style(foreground: RGB, background: RGB) -> Style:
    return Style(color=_colour(foreground), bgcolor=_colour(background))


def _rounded(rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Colours to the nearest multiple of :data:`COLOUR_STEP` (0 and 248 included)."""
    steps = np.clip(np.round(np.asarray(rgb, np.float32) / COLOUR_STEP), 0, 255 // COLOUR_STEP)
    return (steps * COLOUR_STEP).astype(np.uint8)


def map_strengths(
    evidence: npt.NDArray[np.floating], against: npt.NDArray[np.floating] | None
) -> tuple[FloatImage, FloatImage]:
    """Both maps in 0-1 on one scale (the larger's peak, at least :data:`MAP_FLOOR`), only
    where they are positive (hiding the pixels changed the probability that way)."""
    for_prediction = np.clip(np.asarray(evidence, dtype=np.float32), 0.0, None)
    for_true = (
        np.zeros_like(for_prediction)
        if against is None
        else np.clip(np.asarray(against, dtype=np.float32), 0.0, None)
    )
    scale = max(float(for_prediction.max(initial=0.0)), float(for_true.max(initial=0.0)))
    scale = max(scale, MAP_FLOOR)
    return for_prediction / scale, for_true / scale


def _blend(
    base: npt.NDArray[np.float32], colour: RGB, amount: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    target = np.asarray(colour, dtype=np.float32)
    return np.asarray(base + (target - base) * np.asarray(amount)[..., np.newaxis], np.float32)


def heat_map_lines(
    image: UInt8Image,
    evidence: npt.NDArray[np.floating],
    against: npt.NDArray[np.floating] | None,
) -> list[Line]:
    """The explanation drawn over the dimmed image: 14 lines of 28 cells for a 28x28 image.

    A pixel that spoke for the prediction turns orange in proportion to how much hiding it
    lowered the predicted class's log-odds; a cell where hiding its pixels raised the true
    class's log-odds more is shaded blue (``░ ▒ ▓``, weak to strong).
    """
    for_prediction, for_true = map_strengths(evidence, against)
    grey = np.asarray(image, dtype=np.float32) * DIM
    tint = np.where(for_prediction >= for_true, for_prediction, 0.0)
    rgb = np.clip(_blend(np.repeat(grey[..., np.newaxis], 3, axis=2), EVIDENCE_RGB, tint), 0, 255)
    pixels = _rounded(rgb)
    upper, lower = pixels[0::2], pixels[1::2]
    cell_true = np.maximum(for_true[0::2], for_true[1::2])
    cell_for = np.maximum(for_prediction[0::2], for_prediction[1::2])
    shaded = (cell_true >= SHADE_FROM) & (cell_true > cell_for)
    level = np.clip(((cell_true - SHADE_FROM) / (1 - SHADE_FROM) * 3).astype(int), 0, 2)
    shade_back = np.repeat(((grey[0::2] + grey[1::2]) / 2)[..., np.newaxis], 3, axis=2).astype(
        np.float32
    )
    shade_fore = _blend(shade_back, AGAINST_RGB, 0.5 + 0.5 * np.minimum(cell_true, 1.0))
    shade_back_rgb = _rounded(shade_back).tolist()
    shade_fore_rgb = _rounded(shade_fore).tolist()
    upper_rgb, lower_rgb = upper.tolist(), lower.tolist()
    lines: list[Line] = []
    for row in range(len(upper_rgb)):
        cells: list[Cell] = []
        for col in range(len(upper_rgb[row])):
            if shaded[row, col]:
                glyph = SHADES[int(level[row, col])]
                fore, back = shade_fore_rgb[row][col], shade_back_rgb[row][col]
            else:
                glyph, fore, back = HALF_BLOCK, lower_rgb[row][col], upper_rgb[row][col]
            cells.append((glyph, (fore[0], fore[1], fore[2]), (back[0], back[1], back[2])))
        lines.append(_merged(cells))
    return lines


def _merged(cells: list[Cell]) -> Line:
    """One segment per run of cells alike."""
    segments: Line = []
    start = 0
    for end in range(1, len(cells) + 1):
        if end == len(cells) or cells[end] != cells[start]:
            glyph, foreground, background = cells[start]
            segments.append(Segment(glyph * (end - start), _rgb_style(foreground, background)))
            start = end
    return segments


def image_lines(image: npt.NDArray[np.generic]) -> list[Line]:
    """A greyscale image as half-block lines, as the gallery draws it."""
    rendered = HalfcellImage(image)
    return [rendered.line(y) for y in range(rendered.height)]


def thumbnail_lines(image: UInt8Image) -> list[Line]:
    """A 28x28 image at half its size (2x2 pixels averaged): 7 lines of 14 cells."""
    pixels = np.asarray(image, dtype=np.float32)
    height, width = pixels.shape
    small = pixels[: height // 2 * 2, : width // 2 * 2]
    small = small.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    return image_lines(np.clip(small.round(), 0, 255).astype(np.uint8))


def probability_line(
    label: int,
    probability: float | None,
    *,
    width: int,
    short: bool,
    marker: str,
    bar_style: Style,
    text_style: Style,
) -> Line:
    """One class's bar: its name, a bar of its probability, the number (``?``: not known) and
    ``marker`` (``true``, ``pred``, ``both`` or a letter: it reads without colour); ``width``
    cells, the bar taking what the rest leaves (too little for a bar of
    :data:`MIN_BAR_WIDTH`: no bar, a more precise number instead)."""
    name = (SHORT_CLASS_NAMES if short else CLASS_NAMES)[label]
    name_width = SHORT_NAME_WIDTH if short else NAME_WIDTH
    marker = marker.ljust(MARKER_WIDTH_SHORT if short else MARKER_WIDTH)
    # name, space, bar, space, number, space, marker
    fixed = name_width + 3 + len(marker)
    precise = not short or width - fixed - 4 < MIN_BAR_WIDTH
    number_width = 6 if precise else 4
    bar_width = max(0, width - fixed - number_width)
    if bar_width < MIN_BAR_WIDTH:
        bar_width = 0
    if probability is None:
        number = "?".rjust(number_width)
    elif not precise:
        number = ">99%" if 0.995 <= probability < 1.0 else f"{probability:4.0%}"
    else:
        number = f"{probability:6.1%}"
    tail = f"{number.lstrip()} {marker}"
    bar = " " * bar_width if probability is None else confidence_bar(probability, bar_width)
    # Spaces end segments rather than start them (SVG screenshots drop a leading space): the
    # number is right-aligned by the bar's segment.
    padding = " " * (len(number) - len(number.lstrip()) + (1 if bar_width else 0))
    return [
        Segment(name.ljust(name_width) + " ", text_style),
        Segment(bar + padding, bar_style),
        Segment(tail, text_style),
    ]
