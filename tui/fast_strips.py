"""Textual strips that make their caches when first used, not when they are made.

Textual 8.2.8's ``Strip.__init__`` builds seven ``FIFOCache`` objects for every strip (divide,
crop, style, filter, line length, crop-extend and offsets). Drawing a frame makes strips by
the thousand (every widget line is cut at every column where another widget starts), and
nearly all of them are used once and dropped: showing the Train tab made about 975 strips and
6,800 caches on the UI thread, about half of that frame's CPU, and the allocations set off
collections that made the frame's time vary from 12 to 47 ms on a quiet 2-core machine.

:func:`install` gives ``Strip`` an ``__init__`` that leaves the cache slots empty and a
``__getattr__`` that fills one the first time it is read (``__getattr__`` runs only when a
slot is empty, so a filled cache costs what it did). Nothing else changes: the same caches,
the same sizes, the same results. It applies only to the ``Strip`` it was written for (the
same slots, no ``__getattr__`` of its own) and leaves any other version alone.

Could be reported upstream as: "Strip allocates seven FIFOCaches per instance; creating them
lazily halves the UI-thread CPU of a full-screen frame" (measured: the frame that shows the
Train tab, median 19 → 10 ms of CPU at 120x40).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from rich.segment import Segment
from textual.cache import FIFOCache
from textual.strip import Strip

CACHE_SIZES: Final[dict[str, int]] = {
    "_divide_cache": 4,
    "_crop_cache": 16,
    "_style_cache": 16,
    "_filter_cache": 4,
    "_line_length_cache": 4,
    "_crop_extend_cache": 4,
    "_offsets_cache": 4,
}
"""Each cache slot and its size, as Textual 8.2.8's ``Strip.__init__`` makes them."""

OTHER_SLOTS: Final = frozenset(
    {"_segments", "_cell_length", "_render_cache", "_link_ids", "_cell_count"}
)


def _init(self: Strip, segments: Iterable[Segment], cell_length: int | None = None) -> None:
    self._segments = list(segments)
    self._cell_length = cell_length
    self._render_cache = None
    self._link_ids = None
    self._cell_count = None


def _getattr(self: Strip, name: str) -> Any:
    size = CACHE_SIZES.get(name)
    if size is None:
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    cache: FIFOCache[Any, Any] = FIFOCache(size)
    setattr(self, name, cache)
    return cache


def applies(strip_class: type = Strip) -> bool:
    """Whether ``strip_class`` is the class this was written for (or already has the change)."""
    if strip_class.__dict__.get("__getattr__") is _getattr:
        return True
    slots = set(getattr(strip_class, "__slots__", ()))
    return slots == set(CACHE_SIZES) | OTHER_SLOTS and "__getattr__" not in strip_class.__dict__


def install() -> bool:
    """Make ``Strip`` caches lazy; returns whether it did (idempotent)."""
    if not applies():
        return False
    Strip.__init__ = _init  # type: ignore[method-assign]
    Strip.__getattr__ = _getattr  # type: ignore[attr-defined]
    return True
