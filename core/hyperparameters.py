"""What a model is trained with, beside its layers: the optimizer, its schedule and the loss.

Plain data with no Keras in it, so the CLI, the app's dialog and ``config.json`` can hold it
before any ML framework is imported; :func:`core.models.compile_model` turns it into Keras
objects. Each preset (:mod:`core.presets`) brings its own; a run's settings may replace them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

Optimizer = Literal["adam", "adamw", "sgd"]
OPTIMIZERS: tuple[Optimizer, ...] = ("adam", "adamw", "sgd")
Schedule = Literal["constant", "cosine"]
SCHEDULES: tuple[Schedule, ...] = ("constant", "cosine")


@dataclass(frozen=True, slots=True)
class Hyperparameters:
    """How the weights are updated and what loss they follow."""

    optimizer: Optimizer = "adam"
    """Adam, AdamW (decoupled weight decay) or SGD with Nesterov momentum."""
    learning_rate: float = 1e-3
    """The peak learning rate: constant, or reached after the warm-up of a cosine schedule."""
    weight_decay: float = 0.0
    """Decoupled weight decay (AdamW, SGD); plain Adam has none."""
    momentum: float = 0.9
    """SGD's momentum; the other optimizers ignore it."""
    label_smoothing: float = 0.0
    schedule: Schedule = "constant"
    """``constant``, or ``cosine``: a linear warm-up then cosine decay to zero at the run's
    planned last epoch."""
    warmup_epochs: float = 0.0
    """Epochs of linear warm-up before the cosine decay (a cosine schedule only)."""

    @property
    def cosine(self) -> bool:
        return self.schedule == "cosine"


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Hyperparameters))
"""Each setting's name, which is also its ``train`` option's (``learning_rate``:
``--learning-rate``)."""
