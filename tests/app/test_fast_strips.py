"""Textual strips make their caches when first used (``tui.fast_strips``), with the same results."""

from __future__ import annotations

from typing import Any

import pytest
from rich.segment import Segment
from rich.style import Style
from textual import cache as textual_cache
from textual.strip import Strip

from tui import fast_strips


@pytest.fixture(autouse=True)
def installed() -> None:
    assert fast_strips.install(), "Textual's Strip changed: check tui/fast_strips.py against it"


def count_caches(monkeypatch: Any) -> list[object]:
    made: list[object] = []
    original = textual_cache.FIFOCache.__init__

    def counting(cache: Any, *args: Any, **kwargs: Any) -> None:
        made.append(cache)
        original(cache, *args, **kwargs)

    monkeypatch.setattr(textual_cache.FIFOCache, "__init__", counting)
    return made


def test_a_strip_makes_no_cache_until_one_is_used(monkeypatch: Any) -> None:
    made = count_caches(monkeypatch)
    strips = [Strip([Segment("hello "), Segment("world", Style(bold=True))]) for _ in range(100)]
    assert made == []
    assert [strip.text for strip in strips[:1]] == ["hello world"]
    strips[0].crop(0, 5)
    assert len(made) == 1, "only the crop cache"


def test_cached_operations_give_the_same_strips_and_hit_their_caches() -> None:
    strip = Strip([Segment("hello "), Segment("world", Style(bold=True))])
    cropped = strip.crop(2, 8)
    assert cropped.text == "llo wo"
    assert strip.crop(2, 8) is cropped, "a second crop comes from the cache"
    left, right = strip.divide([5, 11])
    assert (left.text, right.text) == ("hello", " world")
    assert strip.divide([5, 11])[0] is left
    styled = strip.apply_style(Style(italic=True))
    assert all(segment.style is not None and segment.style.italic for segment in styled)
    assert strip.apply_style(Style(italic=True)) is styled
    assert strip.extend_cell_length(14).cell_length == 14
    assert strip.crop_extend(0, 14, None).cell_length == 14
    assert strip.cell_length == 11


def test_other_attributes_are_still_missing() -> None:
    strip = Strip([Segment("x")])
    with pytest.raises(AttributeError, match="no_such_thing"):
        strip.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(strip, "__dict__"), "still a slotted class"


def test_a_strip_with_other_slots_is_left_alone() -> None:
    class OtherStrip:
        __slots__ = ("_cell_length", "_new_cache", "_segments")

    assert not fast_strips.applies(OtherStrip)
    assert fast_strips.applies(Strip)
