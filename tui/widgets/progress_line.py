"""The one-line training progress: epoch x/N, a bar for the epoch, batch, samples/s, ETA."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.progress import Progress, format_duration

BAR_MIN = 8
BAR_MAX = 30


class ProgressLine(Widget):
    """Shows :class:`Progress` while training and a status message otherwise."""

    DEFAULT_CSS = """
    ProgressLine {
        height: 1;
        width: 1fr;
        & > .progress-line--bar { color: $accent; }
        & > .progress-line--empty { color: $foreground 20%; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"progress-line--bar", "progress-line--empty"}

    progress: reactive[Progress | None] = reactive[Progress | None](None, layout=False)
    message: reactive[str] = reactive("")

    def render(self) -> Text:
        progress = self.progress
        if progress is None:
            return Text(self.message, no_wrap=True, overflow="ellipsis")
        head = f"Epoch {progress.epoch}/{progress.final_epoch} "
        if progress.batches and progress.batch >= progress.batches:
            # Keras validates after the last batch; no progress arrives until that is done.
            parts = ["validating"]
        else:
            parts = [f"batch {progress.batch:,}/{progress.batches:,}"]
        if progress.samples_per_second > 0:
            parts.append(f"{progress.samples_per_second:,.0f} samples/s")
        if progress.eta_seconds is not None:
            parts.append(f"ETA {format_duration(progress.eta_seconds)}")
        tail = " " + " · ".join(parts)
        room = self.size.width - len(head) - len(tail) - 2
        text = Text(head, style="bold", no_wrap=True, overflow="ellipsis")
        if room >= BAR_MIN:
            width = min(BAR_MAX, room)
            done = round(width * progress.batch / progress.batches) if progress.batches else 0
            text.append("▕")
            text.append("█" * done, style=self.get_component_rich_style("progress-line--bar"))
            text.append(
                "░" * (width - done), style=self.get_component_rich_style("progress-line--empty")
            )
            text.append("▏")
        text.append(tail)
        return text
