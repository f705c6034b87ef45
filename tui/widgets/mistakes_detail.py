"""The Mistakes tab's detail panel: why the highlighted example was classified as it was.

For the example under the gallery's cursor: its ten class probabilities as bars (the true
and the predicted class marked in words, so it reads without colour), the heat map of what
drove the prediction and what argued against the true class (``tui.widgets.
mistakes_detail_parts``), and the three nearest training images by the model's own
penultimate features, with their labels and similarity.

The explanation is made in the engine thread; the panel only draws what the app's state holds.
Its lines are built once per example, explanation and size, then each frame copies them, so
moving the cursor or switching tabs never waits for it. Wide (60 columns or more and tall
enough) it shows the image and the map side by side with the neighbours below; narrower, the
map over the image with the bars beside it and the neighbours as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from core.evaluation import CLASS_NAMES, NUM_CLASSES, SHORT_CLASS_NAMES
from tui.reports import ExplanationReady
from tui.widgets.mistakes_detail_parts import (
    AGAINST_RGB,
    EVIDENCE_RGB,
    Line,
    heat_map_lines,
    image_lines,
    probability_line,
    thumbnail_lines,
)
from tui.widgets.mistakes_list import Example

IMAGE_WIDTH: Final = 28
IMAGE_LINES: Final = 14
THUMB_WIDTH: Final = 14
THUMB_SLOT: Final = 17
"""A neighbour's column: its thumbnail and a gap (its label may use the gap)."""
GAP: Final = 2
FULL_WIDTH: Final = 2 * IMAGE_WIDTH + GAP
"""From this width the image and its map stand side by side."""
FULL_MIN_HEIGHT: Final = 1 + IMAGE_LINES + 1 + NUM_CLASSES
"""The wide layout needs the title, the images, the legend and the bars."""
COMPACT_BARS_WIDTH: Final = 16
"""The narrowest bars that fit beside the map (short names, whole percents)."""


@dataclass(frozen=True, slots=True, eq=False)
class DetailSubject:
    """What the panel shows: one test example and what is known about it."""

    example: Example
    run_key: object
    """Which run and evaluation the example is of (examples of two runs may be equal)."""
    image: npt.NDArray[np.uint8]
    """``(28, 28)``: the test image."""
    probabilities: npt.NDArray[np.floating] | None
    """``(10,)`` from the run's evaluation; ``None`` for runs saved before they were kept."""
    explained: ExplanationReady | None
    status: str
    """What the panel says while there is no explanation (why, or what it waits for)."""

    @property
    def key(self) -> tuple[object, ...]:
        """Equal keys draw the same lines."""
        return (
            self.example,
            self.run_key,
            id(self.explained),
            None if self.explained is not None else self.status,
        )


@dataclass(frozen=True, slots=True)
class DetailStyles:
    base: Style
    title: Style
    label: Style
    true: Style
    predicted: Style
    bar: Style
    status: Style
    evidence: Style
    against: Style


class MistakesDetail(Widget):
    """The highlighted example's probabilities, heat map and nearest training images."""

    class Shown(Message):
        """The panel became visible: the highlighted example may want explaining."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "mistakes-detail--title",
        "mistakes-detail--label",
        "mistakes-detail--true",
        "mistakes-detail--predicted",
        "mistakes-detail--bar",
        "mistakes-detail--status",
    }

    DEFAULT_CSS = """
    MistakesDetail {
        height: 1fr;
        width: 1fr;
        padding: 0 0 0 1;
        background: $surface;
        & > .mistakes-detail--title { text-style: bold; }
        & > .mistakes-detail--label { color: $text-muted; }
        & > .mistakes-detail--true { color: $text-success; text-style: bold; }
        & > .mistakes-detail--predicted { color: $text-error; text-style: bold; }
        & > .mistakes-detail--bar { color: $foreground-muted; }
        & > .mistakes-detail--status { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._subject: DetailSubject | None = None
        self._lines: list[Strip] | None = None
        self._built_for: tuple[object, ...] | None = None
        self.build_count = 0
        """How many times the lines were built (not copied): for tests and tuning."""

    @property
    def subject(self) -> DetailSubject | None:
        return self._subject

    def show(self, subject: DetailSubject | None) -> None:
        """Draw ``subject`` (``None``: nothing); the same subject again costs nothing."""
        old = self._subject
        if (old is None) == (subject is None) and (
            old is None or subject is None or old.key == subject.key
        ):
            return
        self._subject = subject
        self._lines = None
        self.refresh()

    @property
    def text(self) -> str:
        """The panel's text as drawn now, line by line (for tests and screen readers)."""
        return "\n".join(strip.text.rstrip() for strip in self._current_lines())

    def on_show(self) -> None:
        self.post_message(self.Shown())

    def on_resize(self) -> None:
        self._lines = None

    def render_line(self, y: int) -> Strip:
        lines = self._current_lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _current_lines(self) -> list[Strip]:
        width = self.content_region.width or self.size.width
        height = self.size.height
        built_for = (width, height, self.app.theme)
        if self._lines is None or self._built_for != built_for:
            styles = self._styles()
            lines = (
                [] if self._subject is None else detail_lines(self._subject, width, height, styles)
            )
            self._lines = [
                Strip(line).extend_cell_length(width, styles.base).crop(0, width) for line in lines
            ]
            self._built_for = built_for
            self.build_count += 1
        return self._lines

    def _styles(self) -> DetailStyles:
        base = self.rich_style

        def part(name: str) -> Style:
            style = self.get_component_rich_style(f"mistakes-detail--{name}")
            return base + style.without_color + Style(color=style.color)

        return DetailStyles(
            base=base,
            title=part("title"),
            label=part("label"),
            true=part("true"),
            predicted=part("predicted"),
            bar=part("bar"),
            status=part("status"),
            evidence=base + Style(color=f"rgb{EVIDENCE_RGB}"),
            against=base + Style(color=f"rgb{AGAINST_RGB}"),
        )


# --- Layout -------------------------------------------------------------------------------------


def detail_lines(
    subject: DetailSubject, width: int, height: int, styles: DetailStyles
) -> list[Line]:
    """The panel's lines for ``subject`` in ``width`` x ``height`` cells."""
    if width >= FULL_WIDTH and height >= FULL_MIN_HEIGHT:
        return _wide(subject, width, height, styles)
    return _narrow(subject, width, height, styles)


def _wide(subject: DetailSubject, width: int, height: int, styles: DetailStyles) -> list[Line]:
    explained = subject.explained
    left = image_lines(subject.image)
    if explained is None:
        right = _boxed_status(subject.status, IMAGE_WIDTH, IMAGE_LINES, styles.status)
    else:
        explanation = explained.explanation
        right = heat_map_lines(explanation.image, explanation.evidence, explanation.against_true)
    sections: list[tuple[str, list[Line]]] = [
        ("title", [_title(subject, width, styles)]),
        ("images", _side_by_side(left, IMAGE_WIDTH, right, styles.base)),
        ("legend", [_legend(subject, width, styles, wide=True)]),
        ("spacer", [[]]),
        ("bars", _bars(subject, width, styles, short=False)),
        ("spacer", [[]]),
        ("nearest", _neighbours(subject, width, styles)),
    ]
    return _fit(sections, height)


def _narrow(subject: DetailSubject, width: int, height: int, styles: DetailStyles) -> list[Line]:
    explained = subject.explained
    if explained is None:
        picture = image_lines(subject.image)
    else:
        explanation = explained.explanation
        picture = heat_map_lines(explanation.image, explanation.evidence, explanation.against_true)
    beside = width - IMAGE_WIDTH - GAP
    title = [_title(subject, width, styles)]
    legend = [_legend(subject, width, styles, wide=False)]
    if beside >= COMPACT_BARS_WIDTH:
        bars = _bars(subject, beside, styles, short=True)
        body = _side_by_side(picture, IMAGE_WIDTH, bars, styles.base)
        sections = [("title", title), ("images", body), ("legend", legend)]
    else:
        bars = _bars(subject, width, styles, short=True)
        sections = [("title", title), ("images", picture), ("legend", legend), ("bars", bars)]
    sections.append(("nearest", _neighbours_text(subject, width, styles)))
    return _fit(sections, height)


def _fit(sections: list[tuple[str, list[Line]]], height: int) -> list[Line]:
    """The sections' lines, less spacers and then the neighbours' second label line when
    they do not fit ``height`` (what is left over is cut at the bottom)."""
    total = sum(len(lines) for _, lines in sections)
    if total > height:
        sections = [s for s in sections if s[0] != "spacer"]
    total = sum(len(lines) for _, lines in sections)
    if total > height:
        sections = [(name, lines[:-1] if name == "nearest" else lines) for name, lines in sections]
    return [line for _, lines in sections for line in lines]


# --- Pieces ---------------------------------------------------------------------------------------


def _text(parts: list[tuple[str, Style]], width: int) -> Line:
    """Text segments cut to ``width`` cells, an ellipsis marking the cut."""
    line: Line = []
    room = width
    for text, style in parts:
        if room <= 0:
            break
        if len(text) > room:
            text = text[: max(0, room - 1)] + "…"
        line.append(Segment(text, style))
        room -= len(text)
    return line


def _title(subject: DetailSubject, width: int, styles: DetailStyles) -> Line:
    example = subject.example
    confidence = (
        subject.explained.explanation.confidence
        if subject.explained is not None
        else example.confidence
    )
    verdict = styles.true if example.correct else styles.predicted
    # Spaces end segments rather than start them: SVG screenshots drop a leading space.
    return _text(
        [
            (f"{example.title} ", styles.title),
            ("· true ", styles.label),
            (f"{example.true_name} ", styles.true),
            ("· predicted ", styles.label),
            (f"{example.predicted_name} ", verdict),
            (f"{confidence:.1%}", styles.label),
        ],
        width,
    )


def _legend(subject: DetailSubject, width: int, styles: DetailStyles, *, wide: bool) -> Line:
    explained = subject.explained
    if explained is None:
        if wide:
            return _text([("Heat map: what the prediction rests on", styles.label)], width)
        return _text([(subject.status, styles.status)], width)
    explanation = explained.explanation
    predicted = CLASS_NAMES[explanation.predicted]
    parts = [("█ ", styles.evidence), (f"for {predicted}  ", styles.label)]
    if explanation.against_true is not None and explanation.true_label is not None:
        parts += [
            ("▒ ", styles.against),
            (f"against {CLASS_NAMES[explanation.true_label]}  ", styles.label),
        ]
    if wide:
        parts.append(("(where hiding it matters)", styles.label))
    return _text(parts, width)


def _boxed_status(text: str, width: int, lines: int, style: Style) -> list[Line]:
    """``text`` wrapped to ``width`` and centred in a box ``lines`` high."""
    words, rows, row = text.split(), [], ""
    for word in words:
        if row and len(row) + 1 + len(word) > width:
            rows.append(row)
            row = word
        else:
            row = f"{row} {word}" if row else word
    if row:
        rows.append(row)
    top = max(0, (lines - len(rows)) // 2)
    box: list[Line] = [[] for _ in range(lines)]
    for offset, wrapped in enumerate(rows[:lines]):
        box[top + offset] = [Segment(wrapped.center(width).rstrip(), style)]
    return box


def _side_by_side(left: list[Line], left_width: int, right: list[Line], base: Style) -> list[Line]:
    height = max(len(left), len(right))
    rows: list[Line] = []
    for y in range(height):
        row = list(left[y]) if y < len(left) else []
        used = Segment.get_line_length(row)
        row.append(Segment(" " * (left_width - used + GAP), base))
        if y < len(right):
            row += right[y]
        rows.append(row)
    return rows


def _bars(subject: DetailSubject, width: int, styles: DetailStyles, *, short: bool) -> list[Line]:
    example = subject.example
    true, predicted = example.true_label, example.predicted_label
    probabilities = (
        subject.explained.explanation.probabilities
        if subject.explained is not None
        else subject.probabilities
    )

    def marker(label: int) -> str:
        if label == true == predicted:
            return "*" if short else "both"
        if label == true:
            return "T" if short else "true"
        if label == predicted:
            return "P" if short else "pred"
        return ""

    def style(label: int) -> Style:
        if label == true:
            return styles.true
        if label == predicted:
            return styles.predicted
        return styles.bar

    if probabilities is None:
        # A run saved before every probability was kept: only the prediction's is known.
        known = [predicted] if true == predicted else [predicted, true]
        lines = [
            probability_line(
                label,
                example.confidence if label == predicted else None,
                width=width,
                short=short,
                marker=marker(label),
                bar_style=style(label),
                text_style=styles.label,
            )
            for label in known
        ]
        lines.append(_text([("Others: not saved with this run", styles.status)], width))
        return lines
    return [
        probability_line(
            label,
            float(probabilities[label]),
            width=width,
            short=short,
            marker=marker(label),
            bar_style=style(label),
            text_style=style(label) if label in (true, predicted) else styles.label,
        )
        for label in range(NUM_CLASSES)
    ]


def _neighbour_number(explained: ExplanationReady, position: int) -> str:
    index = int(explained.explanation.neighbour_indices[position])
    return f"#{index}" if explained.standard_neighbours else f"subset #{index}"


def _neighbours(subject: DetailSubject, width: int, styles: DetailStyles) -> list[Line]:
    explained = subject.explained
    head = _text([("Looked like (nearest training images, similarity):", styles.label)], width)
    if explained is None:
        return [head, _text([("once explained", styles.status)], width)]
    explanation = explained.explanation
    count = len(explanation.neighbour_labels)
    thumbs = [thumbnail_lines(image) for image in explanation.neighbour_images]
    rows: list[Line] = [head]
    for y in range(len(thumbs[0]) if thumbs else 0):
        row: Line = []
        for thumb in thumbs:
            row += thumb[y]
            row.append(Segment(" " * (THUMB_SLOT - THUMB_WIDTH), styles.base))
        rows.append(row)
    names: Line = []
    numbers: Line = []
    for position in range(count):
        label = int(explanation.neighbour_labels[position])
        similarity = 1.0 - float(explanation.neighbour_distances[position])
        score = f"{similarity:.3f}"
        name = CLASS_NAMES[label]
        if len(name) + 1 + len(score) >= THUMB_SLOT:
            name = SHORT_CLASS_NAMES[label]
        names.append(Segment(f"{name} ", _label_style(label, subject, styles)))
        names.append(Segment(score.ljust(THUMB_SLOT - len(name) - 1), styles.label))
        number = f"train {_neighbour_number(explained, position)}"
        numbers.append(Segment(number[: THUMB_SLOT - 1].ljust(THUMB_SLOT), styles.label))
    # The numbers line goes first when the panel is short (_fit).
    return [*rows, names, numbers]


def _neighbours_text(subject: DetailSubject, width: int, styles: DetailStyles) -> list[Line]:
    """The nearest training images as words, wrapped: ``Looked like: Sneaker 0.97 #341 …``."""
    explained = subject.explained
    if explained is None:
        return []
    explanation = explained.explanation
    chunks: list[Line] = []
    for position, label in enumerate(explanation.neighbour_labels):
        similarity = 1.0 - float(explanation.neighbour_distances[position])
        chunks.append(
            [
                Segment(f"{CLASS_NAMES[int(label)]} ", _label_style(int(label), subject, styles)),
                Segment(
                    f"{similarity:.3f} {_neighbour_number(explained, position)}  ", styles.label
                ),
            ]
        )
    lines: list[Line] = [[Segment("Looked like: ", styles.label)]]
    for chunk in chunks:
        used = Segment.get_line_length(lines[-1])
        if used and used + Segment.get_line_length(chunk) - 2 > width:
            lines.append([])
        lines[-1] += chunk
    return lines


def _label_style(label: int, subject: DetailSubject, styles: DetailStyles) -> Style:
    if label == subject.example.true_label:
        return styles.true
    if label == subject.example.predicted_label:
        return styles.predicted
    return styles.label
