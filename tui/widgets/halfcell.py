"""Greyscale images as half-block terminal lines, drawn as rich-pixels draws them.

Two pixel rows per terminal row: a lower half block in the lower pixel's grey on the upper
pixel's grey. A vectorised path yields exactly the segments rich-pixels' ``HalfcellRenderer``
yields (a test compares them) at about a third of the cost. A rendered image is a few NumPy
arrays, not hundreds of styles and segments that every full garbage collection (which stops
every thread) would have to walk; a line's segments are made as it is drawn, with styles
shared between images.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

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


class GalleryImages:
    """The test images of a gallery, each rendered once and then served from a cache."""

    def __init__(self, cache_size: int) -> None:
        self._pixels: UInt8Images | None = None
        self._cache: LRUCache[int, HalfcellImage] = LRUCache(cache_size)
        self.render_count = 0
        """How many images were rendered (not served from the cache): for tests and tuning."""

    @property
    def loaded(self) -> bool:
        return self._pixels is not None

    def load(self, images: npt.NDArray[np.generic], samples: int) -> tuple[int, int]:
        """Hold ``images`` ``(N, height, width)`` for ``samples`` test samples; give
        ``(height, width)``."""
        pixels = np.asarray(images)
        if pixels.ndim != 3:
            raise ValueError(f"images must be (N, height, width), got {pixels.shape}")
        if pixels.shape[0] < samples:
            raise ValueError(f"{pixels.shape[0]} images for {samples} test samples")
        self._pixels = pixels.astype(np.uint8, copy=False)
        self._cache.clear()
        return pixels.shape[1], pixels.shape[2]

    def clear(self) -> None:
        self._pixels = None
        self._cache.clear()

    def image(self, test_index: int) -> HalfcellImage:
        image = self._cache.get(test_index)
        if image is None:
            assert self._pixels is not None
            image = self._cache[test_index] = HalfcellImage(self._pixels[test_index])
            self.render_count += 1
        return image
