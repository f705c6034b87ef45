"""What the app asks of the engine, besides core's run requests (``core.requests``): each a
frozen value put on the engine's queue (:class:`tui.engine.Engine`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.config import TrainConfig
from core.requests import RunRequest


@dataclass(frozen=True, slots=True)
class Summarize:
    """Build ``model`` untrained and report its layer table."""

    model: str


@dataclass(frozen=True, slots=True, eq=False)
class Explain:
    """Explain test example ``index`` of the run on show: with the held model when it is that
    run's (``run_id``), else with the one saved in ``run_dir``. Only the newest pending one
    is served (:meth:`Engine.submit`): the cursor moves faster than explanations are made."""

    run_id: str
    index: int
    """Its position in the run's evaluation."""
    request_id: int
    image: npt.NDArray[np.uint8]
    true_label: int
    run_dir: Path | None = None
    config: TrainConfig | None = None
    """The saved run's settings (which training images are its neighbours)."""


@dataclass(frozen=True, slots=True)
class Predict:
    """Classify the pictures in ``paths`` (files or folders) with the model of the run on
    show, found as :class:`Explain` finds it."""

    paths: tuple[Path, ...]
    run_id: str
    run_dir: Path | None = None
    config: TrainConfig | None = None


@dataclass(frozen=True, slots=True)
class RunSweep:
    """Run a worker of the sweep ``space_path`` describes, one trial after another, each a
    run of the engine's session (its events reported as any run's). ``None``: as
    ``fmnist-tui sweep`` defaults them (the file's trials, the runs folder's journal, the
    file's name)."""

    space_path: Path
    trials: int | None = None
    storage: str | None = None
    study: str | None = None


@dataclass(frozen=True, slots=True)
class Shutdown:
    """End the engine's loop."""


@dataclass(frozen=True, slots=True)
class NewestExplain:
    """Stands in the queue for the newest :class:`Explain` submitted."""


EngineCommand = RunRequest | Summarize | Explain | Predict | RunSweep | Shutdown
