"""The live training curve: Keras' running means turned into one smooth line across the run.

Keras reports, part-way through an epoch, the mean of every batch since that epoch began. Drawn
as they come, those means restart at every epoch: the line jumps at each epoch's start (a mean
over a few batches is noise), lags inside the epoch, and spikes where a resumed run starts.

Two consecutive reports of the same epoch give the mean of the batches between them:
``(m_b * b - m_a * a) / (b - a)`` for the running means ``m_a`` after ``a`` batches and ``m_b``
after ``b``. Those interval means are smoothed across the whole run with an exponential moving
average, weighted by how many batches each interval holds and debiased at the start, as
TensorBoard smooths batch values. Whole epochs are a different quantity, each epoch's mean,
which is what the history, the charts' epoch points and the exported PNG show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

SMOOTHING_BATCHES: Final = 50
"""The moving average's time constant: batches further back than that weigh less than
``1/e``. A batch's accuracy is noisy (32 images at 87% right: 6 points either way); over 50
batches that is under one point, which a chart row shows as one line."""
SMOOTHING_EPOCHS: Final = (0.1, 0.25)
"""...kept between these fractions of an epoch: smoother where epochs are long, and never
lagging more than a quarter of an epoch where they are short (a run on a subset)."""
WARM_UP_BATCHES: Final = 3
"""Batches the curve averages before its first point: a mean of one or two batches is noise."""


@dataclass(frozen=True, slots=True)
class SmoothedPoint:
    """The smoothed batch values at ``position``, a fractional epoch."""

    position: float
    accuracy: float
    loss: float


@dataclass(slots=True)
class _Smoother:
    """A debiased exponential moving average of one metric."""

    total: float = 0.0
    weight: float = 0.0

    def add(self, value: float, decay: float) -> None:
        if math.isfinite(value):
            self.total = decay * self.total + (1.0 - decay) * value
            self.weight = decay * self.weight + (1.0 - decay)

    @property
    def value(self) -> float:
        return self.total / self.weight if self.weight > 0 else math.nan


class TrainCurve:
    """Turns one run's progress reports into the points of its smoothed training line."""

    def __init__(
        self,
        *,
        smoothing_batches: float = SMOOTHING_BATCHES,
        smoothing_epochs: tuple[float, float] = SMOOTHING_EPOCHS,
        warm_up: int = WARM_UP_BATCHES,
    ) -> None:
        self.smoothing_batches = smoothing_batches
        self.smoothing_epochs = smoothing_epochs
        self.warm_up = warm_up
        self._last: tuple[int, int, float, float] | None = None
        """The previous report: (epoch, batches done, running accuracy, running loss)."""
        self._accuracy = _Smoother()
        self._loss = _Smoother()
        self._batches_seen = 0

    def add(
        self, epoch: int, batch: int, batches: int, accuracy: float, loss: float
    ) -> SmoothedPoint | None:
        """One report: the running means after ``batch`` of ``batches`` batches of ``epoch``.

        Returns:
            The smoothed line's point at this report, or ``None`` while the curve has averaged
            fewer than its warm-up (at least 1/20 of an epoch), and for a report repeated.
        """
        if batches <= 0 or batch <= 0:
            return None
        last = self._last
        if last is not None and last[0] == epoch and batch == last[1]:
            return None
        if last is not None and last[0] == epoch and batch > last[1]:
            start = last[1]
            accuracy_mean = (accuracy * batch - last[2] * start) / (batch - start)
            loss_mean = (loss * batch - last[3] * start) / (batch - start)
        else:
            # A new epoch, or the same one trained again from its start (a resumed run).
            start, accuracy_mean, loss_mean = 0, accuracy, loss
        self._last = (epoch, batch, accuracy, loss)
        count = batch - start
        least, most = (fraction * batches for fraction in self.smoothing_epochs)
        constant = min(max(self.smoothing_batches, least), most)
        decay = math.exp(-count / max(constant, 1e-9))
        self._accuracy.add(accuracy_mean, decay)
        self._loss.add(loss_mean, decay)
        self._batches_seen += count
        if self._batches_seen < max(self.warm_up, batches // 20):
            return None
        return SmoothedPoint(epoch - 1 + batch / batches, self._accuracy.value, self._loss.value)
