"""The user's pictures, classified: per file the three most probable classes and the 28x28
the model saw, drawn as terminal pixels; the files that could not be read, one line each."""

from __future__ import annotations

from typing import ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Label, Static

from tui.reports import PredictionsReady
from tui.widgets.mistakes_detail_parts import Line, image_lines, probability_line

IMAGE_WIDTH: Final = 28
GAP: Final = 3


class PredictionList(ScrollView, can_focus=True):
    """Every picture's lines, built once per width; arrows and PgUp/PgDn scroll."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "prediction-list--name",
        "prediction-list--top",
        "prediction-list--label",
        "prediction-list--bar",
        "prediction-list--problem",
    }

    DEFAULT_CSS = """
    PredictionList {
        height: 1fr;
        & > .prediction-list--name { text-style: bold; }
        & > .prediction-list--top { color: $text-success; text-style: bold; }
        & > .prediction-list--label { color: $text-muted; }
        & > .prediction-list--bar { color: $foreground-muted; }
        & > .prediction-list--problem { color: $text-error; }
    }
    """

    def __init__(self, report: PredictionsReady, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report = report
        self._lines: list[Strip] = []
        self._width = -1

    @property
    def text(self) -> str:
        """Every line's text (for tests)."""
        return "\n".join(strip.text.rstrip() for strip in self._built())

    def on_resize(self) -> None:
        self._built()

    def _part(self, name: str) -> Style:
        style = self.get_component_rich_style(f"prediction-list--{name}")
        return self.rich_style + style.without_color + Style(color=style.color)

    def _built(self) -> list[Strip]:
        width = self.scrollable_content_region.width or self.size.width or 80
        if width != self._width:
            base = self.rich_style
            self._lines = [
                Strip(line).extend_cell_length(width, base).crop(0, width)
                for line in self._make_lines(width)
            ]
            self._width = width
            self.virtual_size = Size(width, len(self._lines))
        return self._lines

    def _make_lines(self, width: int) -> list[Line]:
        report = self.report
        base = self.rich_style
        lines: list[Line] = []
        for problem in report.problems:
            # One problem, one entry: wrapped rather than cut, so the reason is never lost.
            for number, row in enumerate(_wrapped(problem, width - 2)):
                lead = "✗ " if number == 0 else "  "
                lines.append([Segment(lead + row, self._part("problem"))])
        if report.problems:
            lines.append([])
        text_width = max(10, width - IMAGE_WIDTH - GAP)
        for picture in report.pictures:
            drawn = image_lines(picture.image)
            name = _tail(picture.name, text_width)
            beside: list[Line] = [[Segment(name, self._part("name"))], []]
            for rank, (label, probability) in enumerate(picture.top):
                top = rank == 0
                beside.append(
                    probability_line(
                        label,
                        probability,
                        width=text_width,
                        short=False,
                        marker="",
                        bar_style=self._part("top" if top else "bar"),
                        text_style=self._part("top" if top else "label"),
                    )
                )
            for y, pixels in enumerate(drawn):
                line = [*pixels, Segment(" " * GAP, base)]
                if y < len(beside):
                    line += beside[y]
                lines.append(line)
            lines.append([])
        return lines

    def render_line(self, y: int) -> Strip:
        lines = self._built()
        index = self.scroll_offset.y + y
        if 0 <= index < len(lines):
            return lines[index]
        return Strip.blank(self.size.width, self.rich_style)


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` in rows of at most ``width`` characters, broken at spaces where it can."""
    width = max(width, 10)
    rows: list[str] = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        cut = cut if cut > width // 2 else width
        rows.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*rows, text]


def _tail(name: str, width: int) -> str:
    """A file's name cut at its start when too long: its end names the file."""
    return name if len(name) <= width else "…" + name[-(width - 1) :]


class PredictionsScreen(ModalScreen[None]):
    """What the model made of the user's pictures."""

    DEFAULT_CSS = """
    #predictions-dialog {
        width: 90%;
        max-width: 100;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    #predictions-summary { color: $text-muted; margin-bottom: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="predictions.close"),
    ]

    def __init__(self, report: PredictionsReady) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        report = self.report
        count = len(report.pictures)
        summary = f"{count} picture{'s' if count != 1 else ''} classified by {report.run_id}"
        if report.problems:
            summary += f"; {len(report.problems)} could not be read"
        if report.flip_averaged:
            summary += " (each averaged with its mirror image, as the run was evaluated)"
        with Vertical(id="predictions-dialog"):
            yield Label("Classified pictures", classes="dialog-title")
            yield Static(summary, id="predictions-summary", markup=False)
            yield PredictionList(report, id="predictions-list")
            yield Static("↑/↓ PgUp/PgDn scroll · Esc closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(PredictionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
