"""Tests that fail when the promise they guard is broken, not only when an argument is missing.

Each test names, in its docstring, the mutation of the product code it was checked against
(the code was changed that way once, the test failed, the change was undone)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import batches, training
from core.config import TrainConfig
from core.data import Dataset, prepare, synthetic_raw
from core.events import EpochMetrics
from core.export import STOP_COLOUR, plot_history
from core.files import current_umask
from core.runs.checkpoints import latest_checkpoint, save_checkpoint
from core.runs.layout import CHECKPOINTS_DIR

ROOT = Path(__file__).resolve().parents[2]


def metrics(epoch: int) -> EpochMetrics:
    return EpochMetrics(epoch, 1 / epoch, 1 - 0.3 / epoch, 1.1 / epoch, 0.9 - 0.2 / epoch, 1.0)


def pixels_of(path: Path, colour: str) -> int:
    """How many pixels of the PNG are ``colour`` (``#rrggbb``), give or take antialiasing."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.int32)
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - target).sum(axis=2) < 12).sum())


def test_the_early_stop_marker_is_drawn_in_the_png(tmp_path: Path) -> None:
    """Mutation: the ``axvline`` of the early stop removed from ``core.export.plot_history``
    (the marker is looked for in the PNG's pixels, not in the arguments passed)."""
    history = [metrics(e) for e in range(1, 7)]
    with_stop = plot_history(
        history, tmp_path / "stop.png", early_stopping={"stopped_epoch": 6, "best_epoch": 4}
    )
    without = plot_history(history, tmp_path / "plain.png")
    drawn, none = pixels_of(with_stop, STOP_COLOUR), pixels_of(without, STOP_COLOUR)
    assert none == 0
    # Two dashed lines (one a panel) and their keys; the validation red is another colour.
    assert drawn > 30, f"only {drawn} pixels of the marker's colour"


CRASH_MID_SAVE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from core.config import TrainConfig
    from core.events import EpochMetrics
    from core.runs.checkpoints import save_checkpoint

    run_dir = Path(sys.argv[1])
    rows = [EpochMetrics(e, 1.0, 0.5, 1.0, 0.5, 1.0) for e in (1, 2)]

    def killed_while_writing(path):
        path.write_bytes(b"half a model")
        os._exit(9)  # as SIGKILL would: no cleanup, no rename

    save_checkpoint(run_dir, config=TrainConfig(epochs=4), history=rows, planned_epochs=4,
                    schedule_end=4, write_model=killed_while_writing)
    """
)


def test_a_process_killed_mid_save_leaves_the_previous_checkpoint_whole(tmp_path: Path) -> None:
    """Mutation: ``save_checkpoint`` writes straight into ``epoch-NNNN`` instead of a hidden
    temporary folder renamed into place (the process really dies half-way through)."""
    save_checkpoint(
        tmp_path,
        config=TrainConfig(epochs=4),
        history=[metrics(1)],
        planned_epochs=4,
        schedule_end=4,
        write_model=lambda path: path.write_bytes(b"a whole model"),
    )
    result = subprocess.run(
        [sys.executable, "-c", CRASH_MID_SAVE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 9, result.stderr.decode()
    committed = sorted(p.name for p in (tmp_path / CHECKPOINTS_DIR).iterdir())
    assert "epoch-0002" not in committed, "half a checkpoint was left where resume looks"
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.epoch == 1
    assert latest.model_path.read_bytes() == b"a whole model"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_folders_get_the_mode_mkdir_would_give(tmp_path: Path, umask: int) -> None:
    """Mutation: the ``os.chmod`` of the temporary checkpoint folder removed (``mkdtemp``
    makes it 0700 whatever the umask, so teammates could not read the checkpoints)."""
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        checkpoint = save_checkpoint(
            tmp_path,
            config=TrainConfig(epochs=4),
            history=[metrics(1)],
            planned_epochs=4,
            schedule_end=4,
            write_model=lambda path: path.write_bytes(b"m"),
        )
    finally:
        os.umask(old)
    assert checkpoint.path.stat().st_mode & 0o777 == 0o777 & ~umask


def tiny_dataset() -> Dataset:
    return prepare(synthetic_raw(train=80, test=20, seed=0))


def test_a_resumed_run_sees_each_epoch_in_the_order_of_an_uninterrupted_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutation: training passes the epoch counted from where it resumed (or the seed alone)
    to ``core.batches.epoch_arrays``, so a resumed run repeats epoch 1's order. Fast enough for
    the inner loop; the slow kill-and-resume tests compare whole losses."""
    seen: list[tuple[int, int, bytes]] = []
    real = batches.epoch_arrays

    def recording(images: np.ndarray, labels: np.ndarray, **kwargs: object):  # type: ignore[no-untyped-def]
        x, y = real(images, labels, **kwargs)  # type: ignore[arg-type]
        seen.append((int(kwargs["seed"]), int(kwargs["epoch"]), x[:8].tobytes()))  # type: ignore[call-overload]
        return x, y

    monkeypatch.setattr(training, "epoch_arrays", recording)
    monkeypatch.setattr(training, "FIRST_STEPS_PER_EXECUTION", 64)
    dataset = tiny_dataset()
    config = TrainConfig(epochs=3, seed=5, batch_size=16)

    straight = training.train(config, lambda e: None, threading.Event(), dataset=dataset)
    uninterrupted, seen[:] = list(seen), []
    first = training.train(
        config.with_changes(epochs=1), lambda e: None, threading.Event(), dataset=dataset
    )
    training.train(config, lambda e: None, threading.Event(), dataset=dataset, state=first)

    assert straight.status == "finished"
    assert [(s, e) for s, e, _ in seen] == [(5, 0), (5, 1), (5, 2)]
    assert seen == uninterrupted, "the resumed epochs saw other batches"
    assert len({order for *_, order in seen}) == 3, "every epoch has its own order"
