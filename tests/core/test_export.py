"""The PNG reports: written whole, readable by Pillow, and never half a file."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
from PIL import Image

from core.evaluation import Evaluation, evaluate_probabilities
from core.events import EpochMetrics
from core.export import (
    ACCURACY_LOSS_PNG,
    CONFUSION_PNG,
    MISCLASSIFIED_PNG,
    ExportError,
    export_all,
    plot_confusion,
    plot_history,
    plot_misclassified,
)

TEST_SAMPLES = 60


def make_history(epochs: int) -> list[EpochMetrics]:
    return [
        EpochMetrics(
            epoch=i + 1,
            loss=0.5 - 0.04 * i,
            accuracy=0.82 + 0.015 * i,
            val_loss=0.35 + 0.01 * abs(i - 3),
            val_accuracy=min(0.86 + 0.01 * i, 0.91),
            seconds=10.0,
        )
        for i in range(epochs)
    ]


def make_evaluation(mistakes: int = 12, samples: int = TEST_SAMPLES) -> Evaluation:
    """Labels cycle through the classes; the first ``mistakes`` samples are predicted wrong."""
    rng = np.random.default_rng(7)
    labels = np.arange(samples) % 10
    predicted = labels.copy()
    predicted[:mistakes] = (labels[:mistakes] + 1 + rng.integers(0, 9, mistakes)) % 10
    confidence = rng.uniform(0.3, 0.99, samples)
    probabilities = np.tile(((1.0 - confidence) / 9.0)[:, None], (1, 10))
    probabilities[np.arange(samples), predicted] = confidence
    return evaluate_probabilities(probabilities, labels)


def make_images(samples: int = TEST_SAMPLES) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (samples, 28, 28), dtype=np.uint8)


def assert_png(path: Path) -> tuple[int, int]:
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert 600 <= width <= 3000, width
    assert 300 <= height <= 3000, height
    return width, height


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def test_history_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / ACCURACY_LOSS_PNG
    assert plot_history(make_history(10), path) == path
    width, height = assert_png(path)
    assert width > height
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("epochs", [0, 1, 2, 40])
def test_history_plot_handles_any_length(tmp_path: Path, epochs: int) -> None:
    assert_png(plot_history(make_history(epochs), tmp_path / "h.png", title="Custom"))


def test_history_plot_survives_nan_metrics(tmp_path: Path) -> None:
    nan = float("nan")
    history = [EpochMetrics(1, nan, nan, nan, nan, 1.0), *make_history(3)[1:]]
    assert_png(plot_history(history, tmp_path / "h.png"))
    assert_png(plot_history([EpochMetrics(1, nan, nan, nan, nan, 1.0)], tmp_path / "n.png"))


def test_history_plot_continues_from_a_later_epoch(tmp_path: Path) -> None:
    history = [
        EpochMetrics(m.epoch + 5, m.loss, m.accuracy, m.val_loss, m.val_accuracy, m.seconds)
        for m in make_history(3)
    ]
    assert_png(plot_history(history, tmp_path / "h.png"))


def test_misclassified_grid_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / MISCLASSIFIED_PNG
    assert plot_misclassified(make_images(), make_evaluation(mistakes=30), path) == path
    width, height = assert_png(path)
    assert height > width


@pytest.mark.parametrize("mistakes", [1, 3, 7])
def test_misclassified_grid_with_few_mistakes(tmp_path: Path, mistakes: int) -> None:
    evaluation = make_evaluation(mistakes=mistakes)
    assert_png(plot_misclassified(make_images(), evaluation, tmp_path / "m.png", limit=4))


def test_misclassified_grid_accepts_float_images_with_a_channel(tmp_path: Path) -> None:
    images = make_images()[..., None].astype(np.float32) / 255.0
    assert_png(plot_misclassified(images, make_evaluation(), tmp_path / "m.png"))


def test_misclassified_with_no_mistakes_says_so(tmp_path: Path) -> None:
    evaluation = make_evaluation(mistakes=0)
    assert evaluation.misclassified_indices.size == 0
    assert_png(plot_misclassified(make_images(), evaluation, tmp_path / "m.png"))


def test_misclassified_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit"):
        plot_misclassified(make_images(), make_evaluation(), tmp_path / "m.png", limit=0)
    with pytest.raises(ValueError, match="images"):
        plot_misclassified(make_images(10), make_evaluation(), tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_confusion_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / CONFUSION_PNG
    assert plot_confusion(make_evaluation(), path) == path
    assert_png(path)


def test_confusion_plot_with_a_class_missing_from_the_test_set(tmp_path: Path) -> None:
    labels = np.arange(30) % 9
    evaluation = evaluate_probabilities(np.eye(10)[labels], labels)
    assert np.isnan(evaluation.per_class_accuracy[9])
    assert_png(plot_confusion(evaluation, tmp_path / "c.png", title="Custom"))


def test_export_all_writes_three_files_and_creates_the_folder(tmp_path: Path) -> None:
    out_dir = tmp_path / "runs" / "run-1"
    written = export_all(out_dir, make_history(4), make_evaluation(), make_images())
    assert [p.name for p in written] == [ACCURACY_LOSS_PNG, MISCLASSIFIED_PNG, CONFUSION_PNG]
    for path in written:
        assert path.parent == out_dir
        assert_png(path)
    assert leftovers(out_dir) == []


def test_export_all_without_evaluation_writes_only_the_history(tmp_path: Path) -> None:
    written = export_all(tmp_path, make_history(2), None, None)
    assert written == [tmp_path / ACCURACY_LOSS_PNG]
    assert sorted(p.name for p in tmp_path.iterdir()) == [ACCURACY_LOSS_PNG]


def test_export_all_without_images_skips_the_grid(tmp_path: Path) -> None:
    written = export_all(tmp_path, make_history(2), make_evaluation(), None)
    assert [p.name for p in written] == [ACCURACY_LOSS_PNG, CONFUSION_PNG]


def raise_enospc(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_write_failure_keeps_the_old_png_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / ACCURACY_LOSS_PNG
    plot_history(make_history(2), path)
    before = path.read_bytes()

    monkeypatch.setattr(os, failing, raise_enospc)
    with pytest.raises(ExportError) as caught:
        plot_history(make_history(5), path)

    message = str(caught.value)
    assert message == f"cannot write {path}: {os.strerror(errno.ENOSPC)}"
    assert "\n" not in message
    assert isinstance(caught.value, OSError)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failure_mid_write_removes_the_partial_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync: Callable[[int], None] = os.fsync
    seen: list[int] = []

    def fsync_then_fail(fd: int) -> None:
        real_fsync(fd)
        seen.append(os.fstat(fd).st_size)
        raise_enospc()

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    with pytest.raises(ExportError, match="No space left"):
        plot_confusion(make_evaluation(), tmp_path / CONFUSION_PNG)
    assert seen
    assert seen[0] > 0
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_raises_export_error(tmp_path: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root ignores file permissions; the monkeypatched tests cover this")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="Permission denied") as caught:
            plot_history(make_history(2), locked / ACCURACY_LOSS_PNG)
        assert str(caught.value).startswith(f"cannot write {locked / ACCURACY_LOSS_PNG}: ")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_folder_that_cannot_be_created_raises_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run folder should go")
    with pytest.raises(ExportError) as caught:
        export_all(blocker / "run", make_history(1), None, None)
    message = str(caught.value)
    assert str(blocker / "run") in message
    assert "\n" not in message


def test_a_folder_in_the_way_of_the_png_raises_export_error(tmp_path: Path) -> None:
    (tmp_path / CONFUSION_PNG).mkdir()
    with pytest.raises(ExportError, match=f"cannot write .*{CONFUSION_PNG}"):
        plot_confusion(make_evaluation(), tmp_path / CONFUSION_PNG)
    assert leftovers(tmp_path) == []


def test_importing_export_is_cheap_and_ui_free() -> None:
    code = (
        "import sys, core.export\n"
        "bad = [m for m in ('matplotlib', 'tensorflow', 'textual', 'rich', 'plotext',"
        " 'rich_pixels') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == ""


def test_drawing_leaves_pyplot_alone(tmp_path: Path) -> None:
    plot_history(make_history(2), tmp_path / "h.png")
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


# --- What the PNGs show, not only that they are PNGs -----------------------------------------


def pixels_of(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def near(rgb: np.ndarray, colour: str, tolerance: int = 40) -> np.ndarray:
    """Mask of the pixels within ``tolerance`` of the hex ``colour`` in every channel."""
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return np.all(np.abs(rgb - target) <= tolerance, axis=-1)


def blobs(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, left, bottom, right) of the 4-connected regions of ``mask``."""
    seen = np.zeros_like(mask, dtype=bool)
    boxes = []
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        stack, top, left, bottom, right = [start], start[0], start[1], start[0], start[1]
        while stack:
            y, x = stack.pop()
            top, left, bottom, right = min(top, y), min(left, x), max(bottom, y), max(right, x)
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                inside = 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                if inside and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        boxes.append((int(top), int(left), int(bottom), int(right)))
    return boxes


def squares(mask: np.ndarray, min_side: int) -> list[tuple[int, int, int, int]]:
    """The regions of ``mask`` that are squares at least ``min_side`` pixels across."""
    found = []
    for top, left, bottom, right in blobs(mask):
        height, width = bottom - top + 1, right - left + 1
        if min(height, width) >= min_side and 0.8 <= height / width <= 1.25:
            found.append((top, left, bottom, right))
    return found


def test_history_plot_draws_both_curves_where_the_data_go(tmp_path: Path) -> None:
    """Accuracy rises and loss falls in make_history: in each panel both colours are drawn, and
    the training curve sits higher on the right than on the left (accuracy), lower (loss)."""
    from core.export import TRAIN_COLOUR, VALIDATION_COLOUR

    rgb = pixels_of(plot_history(make_history(10), tmp_path / "h.png"))
    half = rgb.shape[1] // 2
    for panel, rising in ((rgb[:, :half], True), (rgb[:, half:], False)):
        for colour in (TRAIN_COLOUR, VALIDATION_COLOUR):
            assert near(panel, colour).sum() > 500, f"{colour} curve missing"
        ys, xs = np.nonzero(near(panel, TRAIN_COLOUR))
        left_y = ys[xs < np.percentile(xs, 25)].mean()
        right_y = ys[xs > np.percentile(xs, 75)].mean()
        assert (right_y < left_y) if rising else (right_y > left_y), (left_y, right_y)


def test_confusion_plot_has_ten_rows_of_cells(tmp_path: Path) -> None:
    """Every test image right: ten dark cells on the diagonal, one per class, in a line."""
    labels = np.arange(100) % 10
    evaluation = evaluate_probabilities(np.eye(10)[labels] * 0.9 + 0.01, labels)
    rgb = pixels_of(plot_confusion(evaluation, tmp_path / "c.png"))
    dark_blue = (rgb[..., 2] > 90) & (rgb[..., 0] < 60) & (rgb[..., 2] - rgb[..., 0] > 60)
    cells = sorted(squares(dark_blue, min_side=20))
    assert len(cells) == 10, cells
    tops, lefts = [c[0] for c in cells], [c[1] for c in cells]
    assert tops == sorted(tops) and lefts == sorted(lefts), "one per row, on the diagonal"
    sides = [c[2] - c[0] for c in cells]
    assert max(sides) - min(sides) <= 3, sides


@pytest.mark.parametrize(("mistakes", "limit", "tiles"), [(30, 25, 25), (7, 25, 7), (30, 4, 4)])
def test_misclassified_grid_has_one_tile_per_mistake_shown(
    tmp_path: Path, mistakes: int, limit: int, tiles: int
) -> None:
    """Black test images make each tile a solid square: count them."""
    images = np.full((TEST_SAMPLES, 28, 28), 255, dtype=np.uint8)
    path = plot_misclassified(
        images, make_evaluation(mistakes=mistakes), tmp_path / "m.png", limit=limit
    )
    rgb = pixels_of(path)
    black = np.all(rgb < 40, axis=-1)
    assert len(squares(black, min_side=30)) == tiles
