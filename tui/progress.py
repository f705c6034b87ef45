"""Where a run is and how long it has left, as plain data (no Textual: the app state uses it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


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
