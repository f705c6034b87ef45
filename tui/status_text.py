"""The status line under the tabs: the device, then the data of the run on show, fitted to
the width it has without losing the sample counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

SEPARATOR: Final = " · "
ELLIPSIS: Final = "…"
MIN_CLIPPED: Final = 12
"""A part cut shorter than this says nothing: it is left out instead."""


@dataclass(frozen=True, slots=True)
class DataCounts:
    """The samples a run trains, validates and is tested on, and where they come from.

    A count is ``None`` where nothing the app has seen says it (a saved run trained on the
    whole training set of a folder this session has not loaded whole).
    """

    train: int | None
    val: int | None
    test: int | None
    source: str
    val_split: float = 0.2

    def counts(self) -> str:
        if self.train is None or self.val is None:
            fit = f"all train images ({self.val_split * 100:g}% val)"
        else:
            fit = f"{self.train:,} train / {self.val:,} val"
        test = "all test images" if self.test is None else f"{self.test:,} test"
        return f"{fit} / {test}"

    def describe(self) -> str:
        # The counts first: where the line is too narrow, the source is what goes.
        return f"{self.counts()}{SEPARATOR}{self.source}"


_LABELLED = re.compile(r"^(?P<label>.+?) \((?P<path>.+)\)$")
_OPTION = re.compile(r"^(?:--data-dir|FMNIST_DATA_DIR) (?P<path>.+)$")


def source_forms(source: str) -> list[str]:
    """``source`` as core names it, then shorter forms of it, longest first: a labelled
    folder, ``Keras cache (~/.keras/datasets/fashion-mnist)``, shortens to its path, then
    to its label; a folder given by option, ``--data-dir /data/fmnist``, to its path, then
    to ``…/fmnist``. Anything else (``synthetic (seed 0)``) has no shorter form."""
    labelled = _LABELLED.match(source)
    if labelled is not None:
        path = labelled.group("path")
        return [source, *([path] if _looks_like_a_path(path) else []), labelled.group("label")]
    option = _OPTION.match(source)
    if option is None:
        return [source]
    path = option.group("path")
    folder = path.rstrip("/").rsplit("/", 1)[-1]
    return [source, path, *([f"{ELLIPSIS}/{folder}"] if folder and folder != path else [])]


def _looks_like_a_path(text: str) -> bool:
    return "/" in text or "\\" in text


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the cut marked with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)].rstrip() + ELLIPSIS if width > 0 else ""


_MARKS = re.compile(r"\((?:R|TM)\)|\bCPU\b(?=\s*@)|@\s*[\d.]+\s*GHz", re.IGNORECASE)
_DETAIL = re.compile(r"\s*\([^()]*\)$")


def device_forms(name: str) -> list[str]:
    """The device's name, then shorter forms of it, longest first:
    ``CPU: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz (2 threads)``,
    ``CPU: Intel Xeon Platinum 8375C (2 threads)``, ``CPU: Intel Xeon Platinum 8375C``."""
    compact = " ".join(_MARKS.sub(" ", name).split())
    bare = _DETAIL.sub("", compact) or compact
    return [name, compact, bare]


def fit_status(device: str, data: str | None, source: str | None, width: int | None) -> str:
    """The status line: ``device`` (``name · backend``), the data's counts, its source.

    Within ``width`` (``None``: any width), what gives way first is the least telling: the
    device's name loses its trade marks and clock, the source shortens
    (:func:`source_forms`), the device's name loses its thread count, the source goes, then
    the backend, and then the device's name is cut. The counts are cut only where
    nothing else is left.
    """
    name, _, backend = device.partition(SEPARATOR)
    names = device_forms(name)
    sources = source_forms(source) if source else [""]
    shorter, shortest = sources[min(1, len(sources) - 1)], sources[-1]

    def line(*parts: str | None) -> str:
        return SEPARATOR.join(part for part in parts if part)

    candidates = (
        line(names[0], backend, data, sources[0]),
        line(names[1], backend, data, sources[0]),
        line(names[1], backend, data, shorter),
        line(names[1], backend, data, shortest),
        line(names[2], backend, data, shortest),
        line(names[2], backend, data),
        line(names[2], data),
    )
    if width is None:
        return candidates[0]
    for candidate in candidates:
        if len(candidate) <= width:
            return candidate
    if data is None:
        return clip(names[2], width)
    room = width - len(data) - len(SEPARATOR)
    if room >= MIN_CLIPPED:
        return line(clip(names[2], room), data)
    return clip(data, width)
