"""Tests for core.data: IDX parsing, validation, source lookup, split and subsets."""

from __future__ import annotations

import gzip
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import write_data_dir

from core import data
from core.data import (
    DataError,
    RawData,
    SourceDir,
    load_dataset,
    load_raw,
    prepare,
    read_idx_images,
    read_idx_labels,
    synthetic_raw,
    write_idx,
)

DEBIAN_TRAIN_IMAGES = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def error_message(excinfo: pytest.ExceptionInfo[DataError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, "user-facing errors must be one line"
    return message


@pytest.fixture
def small_raw() -> RawData:
    return synthetic_raw(train=50, test=20, seed=1)


@pytest.fixture
def no_default_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[SourceDir]:
    """Point the implicit lookup at empty folders and make any download attempt fail loudly."""
    candidates = [
        SourceDir(tmp_path / "keras-cache", "Keras cache (test)"),
        SourceDir(tmp_path / "debian", "Debian package (test)"),
    ]
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "candidate_dirs", lambda: candidates)

    def no_download(searched: list[SourceDir] | None = None) -> RawData:
        raise AssertionError("the lookup should not have reached the Keras download")

    monkeypatch.setattr(data, "keras_download", no_download)
    return candidates


# --- Reading and writing IDX files ---------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path: Path, small_raw: RawData, suffix: str) -> None:
    images_path = tmp_path / f"images{suffix}"
    labels_path = tmp_path / f"labels{suffix}"
    write_idx(images_path, small_raw.x_train)
    write_idx(labels_path, small_raw.y_train)

    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)

    assert images.dtype == np.uint8 and images.shape == (50, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (50,)
    np.testing.assert_array_equal(images, small_raw.x_train)
    np.testing.assert_array_equal(labels, small_raw.y_train)
    assert not images.flags.writeable and not labels.flags.writeable


def test_gz_is_really_compressed_and_plain_is_not(tmp_path: Path, small_raw: RawData) -> None:
    write_idx(tmp_path / "labels.gz", small_raw.y_train)
    write_idx(tmp_path / "labels", small_raw.y_train)
    assert (tmp_path / "labels.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "labels").read_bytes()[:4] == bytes([0, 0, 8, 1])
    assert (
        gzip.decompress((tmp_path / "labels.gz").read_bytes()) == (tmp_path / "labels").read_bytes()
    )


def test_write_idx_leaves_no_temporary_files(tmp_path: Path, small_raw: RawData) -> None:
    write_idx(tmp_path / "labels.gz", small_raw.y_train)
    assert [p.name for p in tmp_path.iterdir()] == ["labels.gz"]


def test_write_idx_rejects_non_uint8(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "labels", np.arange(5, dtype=np.int64))


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_labels(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"labels{suffix}"
    full = tmp_path / "full"
    write_idx(full, np.zeros(60, dtype=np.uint8))
    content = full.read_bytes()[:-10]
    path.write_bytes(gzip.compress(content) if suffix else content)

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == f"{path}: truncated: header says 60 labels but file holds 50"


def test_truncated_images(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "images"
    write_idx(path, small_raw.x_train[:5])
    path.write_bytes(path.read_bytes()[:-100])

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert error_message(excinfo) == (
        f"{path}: truncated: header says 5 images but file holds 4 and 684 bytes of another"
    )


def test_extra_bytes_after_data(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    write_idx(path, np.zeros(8, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00")

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == (
        f"{path}: 3 unexpected bytes after the 8 labels the header declares"
    )


def test_header_count_larger_than_data(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, small_raw.x_train[:3])
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[4:8] = (7).to_bytes(4, "big")  # claim 7 images, hold 3
    path.write_bytes(gzip.compress(bytes(content)))

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert "header says 7 images but file holds 3" in error_message(excinfo)


def test_wrong_magic_images_given_as_labels(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(path, small_raw.x_train)

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == (
        f"{path}: wrong magic number 0x00000803 (expected 0x00000801, an IDX label file)"
    )


def test_wrong_magic_labels_given_as_images(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "images"
    write_idx(path, small_raw.y_train)

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert "wrong magic number 0x00000801 (expected 0x00000803, an IDX image file)" in (
        error_message(excinfo)
    )


def test_compressed_file_without_gz_name_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    write_idx(tmp_path / "labels.gz", np.zeros(4, dtype=np.uint8))
    (tmp_path / "labels.gz").rename(path)

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    message = error_message(excinfo)
    assert "wrong magic number" in message and "should end in .gz" in message


@pytest.mark.parametrize("content", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00"])
def test_file_shorter_than_header(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "images"
    path.write_bytes(content)

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert error_message(excinfo).startswith(f"{path}: truncated: ")


def test_images_must_be_28_by_28(tmp_path: Path) -> None:
    path = tmp_path / "images"
    write_idx(path, np.zeros((3, 10, 12), dtype=np.uint8))

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert error_message(excinfo) == f"{path}: images are 10x12 pixels, expected 28x28"


def test_label_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    write_idx(path, np.array([0, 9, 3, 10, 12], dtype=np.uint8))

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == f"{path}: label 10 out of range 0-9 (item 3)"


def test_empty_label_file(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    write_idx(path, np.zeros(0, dtype=np.uint8))

    with pytest.raises(DataError, match="holds no labels"):
        read_idx_labels(path)


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(b"this is not gzip data at all")

    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == f"{path}: not a valid gzip file"


def test_truncated_gzip(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, small_raw.x_train)
    path.write_bytes(path.read_bytes()[:-200])

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    message = error_message(excinfo)
    assert message.startswith(f"{path}: not a valid gzip file")
    assert "incomplete download" in message


def test_corrupt_gzip_body(tmp_path: Path, small_raw: RawData) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, small_raw.x_train)
    content = bytearray(path.read_bytes())
    middle = len(content) // 2
    content[middle : middle + 16] = bytes(16)  # wreck the deflate stream
    path.write_bytes(bytes(content))

    with pytest.raises(DataError) as excinfo:
        read_idx_images(path)
    assert error_message(excinfo).startswith(f"{path}: not a valid gzip file")


def test_missing_single_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.gz"
    with pytest.raises(DataError) as excinfo:
        read_idx_labels(path)
    assert error_message(excinfo) == f"missing file: {path}"


# --- Loading a folder ----------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_data_dir(tmp_path: Path, small_raw: RawData, gz: bool) -> None:
    folder = write_data_dir(tmp_path / "fm", small_raw, gzip_train=gz, gzip_test=gz)

    raw = load_raw(folder)

    np.testing.assert_array_equal(raw.x_train, small_raw.x_train)
    np.testing.assert_array_equal(raw.y_train, small_raw.y_train)
    np.testing.assert_array_equal(raw.x_test, small_raw.x_test)
    np.testing.assert_array_equal(raw.y_test, small_raw.y_test)
    assert raw.source == f"--data-dir {folder}"


def test_plain_file_preferred_over_gz(tmp_path: Path, small_raw: RawData) -> None:
    folder = write_data_dir(tmp_path / "fm", small_raw, gzip_train=True, gzip_test=True)
    write_idx(folder / data.TEST_LABELS, np.full(20, 7, dtype=np.uint8))

    assert set(load_raw(folder).y_test.tolist()) == {7}


def test_missing_file_names_the_file(tmp_path: Path, small_raw: RawData) -> None:
    folder = write_data_dir(tmp_path / "fm", small_raw, gzip_test=True)
    (folder / f"{data.TEST_IMAGES}.gz").unlink()

    with pytest.raises(DataError) as excinfo:
        load_raw(folder)
    assert error_message(excinfo) == f"missing file: {folder}/t10k-images-idx3-ubyte(.gz)"


def test_empty_data_dir_names_the_first_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_raw(tmp_path)
    assert error_message(excinfo) == (
        f"missing file: {tmp_path}/train-images-idx3-ubyte(.gz) (and 3 more)"
    )


def test_data_dir_that_does_not_exist(tmp_path: Path) -> None:
    folder = tmp_path / "absent"
    with pytest.raises(DataError) as excinfo:
        load_raw(folder)
    assert error_message(excinfo) == f"--data-dir {folder}: no such folder"


def test_images_and_labels_count_mismatch(tmp_path: Path, small_raw: RawData) -> None:
    folder = write_data_dir(tmp_path / "fm", small_raw, gzip_test=True)
    write_idx(folder / f"{data.TRAIN_LABELS}.gz", small_raw.y_train[:-2])

    with pytest.raises(DataError) as excinfo:
        load_raw(folder)
    assert error_message(excinfo) == (
        f"{folder}/train-images-idx3-ubyte.gz: holds 50 images but "
        "train-labels-idx1-ubyte.gz holds 48 labels"
    )


def test_any_count_is_accepted_when_pairs_agree(tmp_path: Path) -> None:
    folder = write_data_dir(tmp_path / "fm", synthetic_raw(train=13, test=7), gzip_test=True)
    raw = load_raw(folder)
    assert (len(raw.y_train), len(raw.y_test)) == (13, 7)


# --- Lookup order --------------------------------------------------------------------------


@pytest.fixture
def four_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_default_sources: list[SourceDir]
) -> dict[str, Path]:
    """A data set in each of --data-dir, $FMNIST_DATA_DIR, the Keras cache and Debian's folder.

    Each holds a different number of training images so a test can tell them apart.
    """
    folders = {
        "data_dir": tmp_path / "explicit",
        "env": tmp_path / "from-env",
        "cache": no_default_sources[0].path,
        "debian": no_default_sources[1].path,
    }
    for size, folder in zip((11, 12, 13, 14), folders.values(), strict=True):
        write_data_dir(folder, synthetic_raw(train=size, test=5), gzip_test=True)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(folders["env"]))
    return folders


def test_data_dir_beats_everything(four_sources: dict[str, Path]) -> None:
    raw = load_raw(four_sources["data_dir"])
    assert len(raw.y_train) == 11
    assert raw.source == f"--data-dir {four_sources['data_dir']}"


def test_env_beats_cache_and_debian(four_sources: dict[str, Path]) -> None:
    raw = load_raw()
    assert len(raw.y_train) == 12
    assert raw.source == f"FMNIST_DATA_DIR {four_sources['env']}"


def test_empty_data_dir_argument_means_not_given(four_sources: dict[str, Path]) -> None:
    assert len(load_raw("").y_train) == 12


def test_cache_beats_debian(four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.DATA_DIR_ENV)
    raw = load_raw()
    assert len(raw.y_train) == 13
    assert raw.source == "Keras cache (test)"


def test_debian_when_cache_is_empty(
    four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(data.DATA_DIR_ENV)
    for path in four_sources["cache"].iterdir():
        path.unlink()
    raw = load_raw()
    assert len(raw.y_train) == 14
    assert raw.source == "Debian package (test)"


def test_partial_cache_is_skipped(
    four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(data.DATA_DIR_ENV)
    (four_sources["cache"] / f"{data.TEST_LABELS}.gz").unlink()
    assert len(load_raw().y_train) == 14


def test_corrupt_cache_is_reported_not_skipped(
    four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(data.DATA_DIR_ENV)
    bad = four_sources["cache"] / f"{data.TRAIN_LABELS}.gz"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError) as excinfo:
        load_raw()
    assert error_message(excinfo) == f"{bad}: not a valid gzip file"


def test_env_dir_without_files_is_an_error(
    four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(empty))
    with pytest.raises(DataError) as excinfo:
        load_raw()
    assert error_message(excinfo).startswith(f"missing file: {empty}/train-images-idx3-ubyte")


def test_env_dir_that_does_not_exist(
    four_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "absent"))
    with pytest.raises(DataError) as excinfo:
        load_raw()
    assert error_message(excinfo) == f"FMNIST_DATA_DIR {tmp_path / 'absent'}: no such folder"


def test_download_is_the_last_resort(
    no_default_sources: list[SourceDir], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[SourceDir] | None] = []
    fallback = synthetic_raw(train=10, test=10)

    def fake_download(searched: list[SourceDir] | None = None) -> RawData:
        seen.append(searched)
        return fallback

    monkeypatch.setattr(data, "keras_download", fake_download)
    assert load_raw() is fallback
    assert seen == [no_default_sources]


def test_candidate_dirs_follow_keras_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    candidates = data.candidate_dirs()
    assert [c.path for c in candidates] == [
        tmp_path / "kh" / "datasets" / "fashion-mnist",
        Path("/usr/share/datasets/fashion-mnist"),
    ]
    assert candidates[1].label == "Debian package (/usr/share/datasets/fashion-mnist)"


def test_candidate_dirs_default_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = data.candidate_dirs()[0]
    assert cache.path == tmp_path / ".keras" / "datasets" / "fashion-mnist"
    assert cache.label == "Keras cache (~/.keras/datasets/fashion-mnist)"


# --- Keras download fallback (Keras itself is faked: no network, no TensorFlow) ----------


def fake_keras(monkeypatch: pytest.MonkeyPatch, load_data: object) -> None:
    module = types.ModuleType("keras.datasets.fashion_mnist")
    module.load_data = load_data  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keras.datasets.fashion_mnist", module)


def test_download_failure_is_one_helpful_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise Exception(  # what Keras' get_file raises for network failures
            "URL fetch failure on https://storage.googleapis.com/x: None -- "
            "[Errno -3] Temporary failure in name resolution\nsecond line"
        )

    fake_keras(monkeypatch, fail)
    searched = [SourceDir(Path("/nowhere/a"), "a"), SourceDir(Path("/nowhere/b"), "b")]

    with pytest.raises(DataError) as excinfo:
        data.keras_download(searched)
    message = error_message(excinfo)
    assert message.startswith("Fashion-MNIST not found in /nowhere/a, /nowhere/b and the Keras")
    assert "Temporary failure in name resolution" in message
    assert "dataset-fashion-mnist" in message and "--data-dir" in message


def test_download_result_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic_raw(train=20, test=10)
    bad_labels = np.array(raw.y_test, copy=True)
    bad_labels[0] = 11
    fake_keras(monkeypatch, lambda: ((raw.x_train, raw.y_train), (raw.x_test, bad_labels)))

    with pytest.raises(DataError) as excinfo:
        data.keras_download()
    assert error_message(excinfo) == "Keras download (test set): label 11 out of range 0-9 (item 0)"


def test_download_success(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic_raw(train=20, test=10)
    fake_keras(monkeypatch, lambda: ((raw.x_train, raw.y_train), (raw.x_test, raw.y_test)))

    loaded = data.keras_download()
    assert loaded.source == "Keras download"
    np.testing.assert_array_equal(loaded.x_test, raw.x_test)


def test_importing_core_data_does_not_import_keras() -> None:
    code = (
        "import sys, core.data; "
        "heavy = {'keras', 'tensorflow', 'textual', 'rich', 'plotext', 'rich_pixels'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- Split and limits ----------------------------------------------------------------------


def test_validation_is_the_last_fifth(small_raw: RawData) -> None:
    dataset = prepare(small_raw)

    assert (dataset.train_samples, dataset.val_samples, dataset.test_samples) == (40, 10, 20)
    np.testing.assert_array_equal(dataset.x_train, small_raw.x_train[:40])
    np.testing.assert_array_equal(dataset.y_val, small_raw.y_train[40:])
    np.testing.assert_array_equal(dataset.x_val, small_raw.x_train[40:])
    assert np.shares_memory(dataset.x_val, small_raw.x_train), "the split must not copy"
    assert np.shares_memory(dataset.x_train, small_raw.x_train)
    assert dataset.source == small_raw.source


def test_validation_count_rounds_down_like_keras() -> None:
    dataset = prepare(synthetic_raw(train=49, test=5), val_split=0.3)
    assert (dataset.train_samples, dataset.val_samples) == (35, 14)  # int(49 * 0.3) == 14


def test_zero_val_split_leaves_validation_empty(small_raw: RawData) -> None:
    dataset = prepare(small_raw, val_split=0.0)
    assert (dataset.train_samples, dataset.val_samples) == (50, 0)


@pytest.mark.parametrize("val_split", [-0.1, 1.0, 1.5])
def test_val_split_out_of_range(small_raw: RawData, val_split: float) -> None:
    with pytest.raises(DataError, match="validation split must be between 0 and 1"):
        prepare(small_raw, val_split=val_split)


def test_val_split_too_small_for_the_data() -> None:
    with pytest.raises(DataError, match="leaves no validation samples"):
        prepare(synthetic_raw(train=4, test=2), val_split=0.2)


def test_limit_is_balanced_sorted_and_not_the_first_n() -> None:
    raw = synthetic_raw(train=1000, test=200)
    dataset = prepare(raw, limit_train=100, limit_test=30, val_split=0.2)

    labels = np.concatenate([dataset.y_train, dataset.y_val])
    assert len(labels) == 100 and dataset.test_samples == 30
    assert np.bincount(labels, minlength=10).tolist() == [10] * 10
    assert np.bincount(dataset.y_test, minlength=10).tolist() == [3] * 10
    assert not np.array_equal(labels, raw.y_train[:100])

    indices = data.balanced_subset(raw.y_train, 100, seed=0)
    assert np.all(np.diff(indices) > 0), "indices must be sorted and unique"
    assert not np.array_equal(indices, np.arange(100))
    np.testing.assert_array_equal(
        np.concatenate([dataset.x_train, dataset.x_val]), raw.x_train[indices]
    )


def test_limit_uneven_share_differs_by_at_most_one() -> None:
    labels = synthetic_raw(train=1000).y_train
    indices = data.balanced_subset(labels, 25, seed=3)
    counts = np.bincount(labels[indices], minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() == 1


def test_limit_is_seeded_and_deterministic() -> None:
    labels = synthetic_raw(train=1000).y_train
    first = data.balanced_subset(labels, 50, seed=7)
    again = data.balanced_subset(labels, 50, seed=7)
    other = data.balanced_subset(labels, 50, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_train_limit_does_not_change_test_subset() -> None:
    raw = synthetic_raw(train=500, test=200)
    one = prepare(raw, limit_train=100, limit_test=40)
    two = prepare(raw, limit_train=300, limit_test=40)
    np.testing.assert_array_equal(one.y_test, two.y_test)
    np.testing.assert_array_equal(one.x_test, two.x_test)


def test_limit_fills_from_other_classes_when_one_is_short() -> None:
    # Class 0 has 2 samples, class 1 has 3, the others 20 each.
    labels = np.concatenate([np.zeros(2), np.ones(3), np.repeat(np.arange(2, 10), 20)]).astype(
        np.uint8
    )
    indices = data.balanced_subset(labels, 50, seed=0)
    counts = np.bincount(labels[indices], minlength=10)
    assert counts.sum() == 50
    assert counts[0] == 2 and counts[1] == 3
    assert counts[2:].max() - counts[2:].min() <= 1


def test_limit_at_or_above_size_is_no_limit(small_raw: RawData) -> None:
    for limit in (50, 51, 10_000):
        dataset = prepare(small_raw, limit_train=limit, limit_test=limit)
        assert np.shares_memory(dataset.x_train, small_raw.x_train)
        assert dataset.x_test is small_raw.x_test


def test_limit_below_one_is_rejected(small_raw: RawData) -> None:
    with pytest.raises(DataError, match="--limit-train must be at least 1, got 0"):
        prepare(small_raw, limit_train=0)


def test_prepared_arrays_are_read_only(small_raw: RawData) -> None:
    dataset = prepare(small_raw, limit_train=30, limit_test=10)
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.x_test):
        assert not array.flags.writeable


def test_load_dataset_combines_load_and_prepare(tmp_path: Path, small_raw: RawData) -> None:
    folder = write_data_dir(tmp_path / "fm", small_raw, gzip_test=True)
    dataset = load_dataset(folder, val_split=0.1, limit_train=30, limit_test=10, seed=2)
    assert (dataset.train_samples, dataset.val_samples, dataset.test_samples) == (27, 3, 10)
    assert dataset.source == f"--data-dir {folder}"


# --- Synthetic data ------------------------------------------------------------------------


def test_synthetic_raw_shapes_and_types() -> None:
    raw = synthetic_raw()
    assert raw.x_train.shape == (500, 28, 28) and raw.x_test.shape == (100, 28, 28)
    assert raw.y_train.shape == (500,) and raw.y_test.shape == (100,)
    for array in (raw.x_train, raw.y_train, raw.x_test, raw.y_test):
        assert array.dtype == np.uint8
    assert np.bincount(raw.y_train, minlength=10).tolist() == [50] * 10
    assert raw.source == "synthetic (seed 0)"


def test_synthetic_raw_is_seeded() -> None:
    np.testing.assert_array_equal(synthetic_raw(seed=4).x_train, synthetic_raw(seed=4).x_train)
    assert not np.array_equal(synthetic_raw(seed=4).x_train, synthetic_raw(seed=5).x_train)


def test_synthetic_raw_is_learnable() -> None:
    # Nearest class mean is a stand-in for "a small CNN learns it quickly".
    raw = synthetic_raw(train=500, test=200)
    train = raw.x_train.reshape(500, -1).astype(np.float64)
    test = raw.x_test.reshape(200, -1).astype(np.float64)
    means = np.stack([train[raw.y_train == c].mean(axis=0) for c in range(10)])
    predicted = ((test[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert (predicted == raw.y_test).mean() > 0.8


# --- The real data set (only where the Debian package is installed) ----------------------


@pytest.mark.real_data
@pytest.mark.skipif(not DEBIAN_TRAIN_IMAGES.exists(), reason="dataset-fashion-mnist not installed")
def test_real_debian_data(monkeypatch: pytest.MonkeyPatch) -> None:
    debian = SourceDir(data.DEBIAN_DIR, f"Debian package ({data.DEBIAN_DIR})")
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "candidate_dirs", lambda: [debian])

    raw = load_raw()

    assert raw.x_train.shape == (60000, 28, 28) and raw.x_test.shape == (10000, 28, 28)
    assert raw.y_train.shape == (60000,) and raw.y_test.shape == (10000,)
    assert {a.dtype for a in (raw.x_train, raw.y_train, raw.x_test, raw.y_test)} == {
        np.dtype(np.uint8)
    }
    assert np.bincount(raw.y_train, minlength=10).tolist() == [6000] * 10
    assert int(raw.y_test.max()) == 9
    assert "Debian" in raw.source
