"""What a sweep worker reports to its front end, beside each trial's training events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.events import TrainingEvent


@dataclass(frozen=True, slots=True)
class StudyOpened:
    """The worker joined the study (made it, or found it with ``trials`` in it already)."""

    study: str
    storage: str
    """The storage as messages name it (a password hidden)."""
    trials: int
    target: int
    """How many trials the study is to have in all."""
    direction: str
    objective: str
    repaired_bytes: int = 0
    """Bytes of an incomplete last journal line cut off before opening it."""


@dataclass(frozen=True, slots=True)
class TrialStarted:
    number: int
    params: Mapping[str, Any]
    retry_of: int | None = None
    """The trial this one retries (its worker died, or it was stopped)."""
    run_dir: str | None = None
    """The run folder it trains on, when it carries on an earlier one."""
    resumed_after: int | None = None
    """The epoch of the checkpoint it carries on from."""


TrialState = Literal["complete", "pruned", "failed"]


@dataclass(frozen=True, slots=True)
class TrialEnded:
    number: int
    state: TrialState
    value: float | None
    """The objective: the best validation value over the run's epochs."""
    epochs: int
    run_dir: str | None
    message: str | None = None
    """Why it was pruned or failed, one line."""


@dataclass(frozen=True, slots=True)
class WaitingForTrials:
    """Every trial is started; this worker waits for the others' running ones, to retry any
    whose worker dies."""

    running: tuple[int, ...]


SweepEvent = StudyOpened | TrialStarted | TrialEnded | WaitingForTrials
SweepEventHandler = Callable[[SweepEvent | TrainingEvent], None]
