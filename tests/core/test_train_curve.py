"""The live training line: Keras' per-epoch running means turned into one smooth line."""

from __future__ import annotations

import itertools
import math

import pytest

from tui.train_curve import SmoothedPoint, TrainCurve

BATCHES = 50


def per_batch_loss(step: int) -> float:
    """A loss that falls steadily over the run, batch by batch (``step`` counts from 0)."""
    return 2.0 * math.exp(-step / 80) + 0.3


def reports(epoch: int, every: int = 5, first_step: int | None = None) -> list[tuple[int, float]]:
    """Keras' reports through ``epoch``: (batches done, running mean of the loss since the
    epoch began), one every ``every`` batches and one at the epoch's end."""
    start = (epoch - 1) * BATCHES if first_step is None else first_step
    values = [per_batch_loss(start + i) for i in range(BATCHES)]
    done = [*range(every, BATCHES, every), BATCHES]
    return [(b, sum(values[:b]) / b) for b in done]


def feed(curve: TrainCurve, epochs: range) -> list[SmoothedPoint]:
    points = []
    for epoch in epochs:
        for batch, mean in reports(epoch):
            point = curve.add(epoch, batch, BATCHES, accuracy=1.0 - mean / 3, loss=mean)
            if point is not None:
                points.append(point)
    return points


def test_without_smoothing_each_point_is_its_intervals_own_mean() -> None:
    curve = TrainCurve(smoothing_batches=0, smoothing_epochs=(0, 0), warm_up=1)
    points = feed(curve, range(1, 3))
    # Batches 6-10 of epoch 2, from the running means after 5 and 10 batches.
    interval = [per_batch_loss(BATCHES + i) for i in range(5, 10)]
    point = next(p for p in points if p.position == pytest.approx(1 + 10 / BATCHES))
    assert point.loss == pytest.approx(sum(interval) / 5, rel=1e-9)
    first = points[0]
    assert first.position == pytest.approx(5 / BATCHES)
    assert first.loss == pytest.approx(sum(per_batch_loss(i) for i in range(5)) / 5)


def test_the_line_runs_on_across_epochs_where_running_means_saw_tooth() -> None:
    running = [mean for epoch in range(1, 5) for _, mean in reports(epoch)]
    steps = [a - b for a, b in itertools.pairwise(running)]
    assert max(steps) > 0.3, "the raw running means lag, then drop at each epoch's start"
    points = feed(TrainCurve(), range(1, 5))
    losses = [p.loss for p in points]
    smoothed_steps = [a - b for a, b in itertools.pairwise(losses)]
    assert all(0 < step < 0.1 for step in smoothed_steps), smoothed_steps
    # It follows the batches a little behind (its time constant here is a quarter of an
    # epoch, 12.5 batches): between the batch reported and the one 3 constants before.
    for point in points:
        step = round(point.position * BATCHES) - 1
        assert per_batch_loss(step) <= point.loss <= per_batch_loss(max(0, step - 38))
    positions = [p.position for p in points]
    assert positions == sorted(positions) and positions[-1] == pytest.approx(4.0)


def test_a_resumed_run_starts_without_a_spike() -> None:
    """A run resumed at epoch 3 has no reports of epochs 1-2: its first points are the batches
    it trained, not a jump."""
    points = feed(TrainCurve(), range(3, 5))
    step = 2 * BATCHES + 5
    assert points[0].loss == pytest.approx(
        sum(per_batch_loss(2 * BATCHES + i) for i in range(5)) / 5
    )
    assert abs(points[0].loss - per_batch_loss(step)) < 0.05


def test_warm_up_repeats_restarts_and_missing_values() -> None:
    curve = TrainCurve(warm_up=3)
    assert curve.add(1, 1, BATCHES, 0.5, 2.0) is None, "one batch is noise"
    assert curve.add(1, 2, BATCHES, 0.5, 2.0) is None
    point = curve.add(1, 3, BATCHES, 0.5, 2.0)
    assert point is not None and point.loss == pytest.approx(2.0)
    assert curve.add(1, 3, BATCHES, 0.5, 2.0) is None, "the same report again adds nothing"
    # The same epoch trained again from its start (a stopped run resumed): a fresh running
    # mean, not a difference with the old one.
    again = curve.add(1, 2, BATCHES, 0.5, 1.0)
    assert again is not None and 1.0 < again.loss < 2.0
    # A missing accuracy leaves the loss line alone.
    nan = curve.add(1, 4, BATCHES, math.nan, 1.0)
    assert nan is not None and math.isfinite(nan.loss) and nan.accuracy == again.accuracy
    assert curve.add(1, 5, 0, 0.5, 1.0) is None, "an epoch of no batches reports nothing"
