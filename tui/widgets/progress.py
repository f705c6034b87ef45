"""The one-line training progress: epoch x/N, a bar for the epoch, batch, samples/s, ETA."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

BAR_MIN = 8
BAR_MAX = 30


@dataclass(frozen=True, slots=True)
class Progress:
    epoch: int
    final_epoch: int
    batch: int
    batches: int
    samples_per_second: float
    eta_seconds: float | None


def format_duration(seconds: float) -> str:
    """``0:45``, ``12:03``, ``1:02:03``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def estimate_eta(
    *,
    epoch: int,
    batch: int,
    batches: int,
    final_epoch: int,
    samples_per_second: float,
    batch_size: int,
    epoch_seconds: Sequence[float] = (),
) -> float | None:
    """Seconds left in the run, or None when there is nothing to go on yet.

    Once an epoch has finished its measured length (which includes validation) is the better
    guide; before that the batch rate is all there is.
    """
    remaining_epochs = max(0, final_epoch - epoch)
    left_in_epoch = max(0.0, 1.0 - batch / batches) if batches else 0.0
    if epoch_seconds:
        recent = epoch_seconds[-3:]
        per_epoch = sum(recent) / len(recent)
        return (left_in_epoch + remaining_epochs) * per_epoch
    if samples_per_second <= 0 or not math.isfinite(samples_per_second):
        return None
    seconds_per_batch = batch_size / samples_per_second
    return (left_in_epoch * batches + remaining_epochs * batches) * seconds_per_batch


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
