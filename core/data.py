"""Fashion-MNIST loading: IDX parsing, source lookup, the validation split and subsets.

Arrays stay ``uint8`` exactly as stored on disk; scaling to floats is the model's job, so the
60k training set costs 47 MB instead of four to eight times that. Arrays handed out by this
module are read-only (as Keras' own loader returns them): the same test images feed the
trainer and the image viewer, and nothing should be able to change them under the other.

Data are looked up, in order, in:

1. the ``data_dir`` argument (``--data-dir``),
2. ``$FMNIST_DATA_DIR``,
3. Keras' cache, ``$KERAS_HOME/datasets/fashion-mnist`` or ``~/.keras/datasets/fashion-mnist``,
4. the Debian package's folder ``/usr/share/datasets/fashion-mnist``,
5. Keras' own download (``keras.datasets.fashion_mnist.load_data()``).

An explicit folder (1 or 2) that lacks the files is an error rather than a reason to look
elsewhere: silently training on other data than the user pointed at would be worse.
"""

from __future__ import annotations

import gzip
import importlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from core.config import TrainConfig
from core.evaluation import NUM_CLASSES
from core.files import one_line, os_reason, write_bytes

UInt8Array = npt.NDArray[np.uint8]
IndexArray = npt.NDArray[np.intp]
ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])

IMAGE_MAGIC = 0x00000803
"""IDX magic of an unsigned-byte, 3-dimensional array: the image files."""
LABEL_MAGIC = 0x00000801
"""IDX magic of an unsigned-byte, 1-dimensional array: the label files."""
IMAGE_SIDE = 28

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_STEMS = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

DATA_DIR_ENV = "FMNIST_DATA_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
KERAS_DOWNLOAD_SOURCE = "Keras download"

_UINT8_IDX_TYPE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(ValueError):
    """The data set cannot be loaded; ``str(error)`` is one line for the user.

    Messages name files and folders as given, so characters that would break the line or
    drive the terminal (a newline or an escape in a folder's name) are written as Python
    escapes (``\\n``, ``\\x1b``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(_printable(message))


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


@dataclass(frozen=True, slots=True, eq=False)
class RawData:
    """The four arrays as stored on disk, and a human description of where they came from."""

    x_train: UInt8Array
    """Training images, ``uint8`` of shape (N, 28, 28)."""
    y_train: UInt8Array
    """Training labels, ``uint8`` of shape (N,), values 0-9."""
    x_test: UInt8Array
    y_test: UInt8Array
    source: str


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Training, validation and test arrays ready for a run; all ``uint8`` and read-only."""

    x_train: UInt8Array
    y_train: UInt8Array
    x_val: UInt8Array
    y_val: UInt8Array
    x_test: UInt8Array
    y_test: UInt8Array
    source: str
    test_indices: IndexArray
    """Where each test image is in the standard test set (the files' order): ``arange`` for
    the whole set, the sorted picks of ``balanced_subset`` under ``--limit-test``."""

    @property
    def train_samples(self) -> int:
        return len(self.y_train)

    @property
    def val_samples(self) -> int:
        return len(self.y_val)

    @property
    def test_samples(self) -> int:
        return len(self.y_test)


@dataclass(frozen=True, slots=True)
class SourceDir:
    """A folder that may hold the four IDX files, and how to name it to the user."""

    path: Path
    label: str


# --- IDX files -----------------------------------------------------------------------------


def _read_file_bytes(path: Path) -> bytes:
    """The file's content, decompressed when its name ends in ``.gz``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"missing file: {path}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {os_reason(error)}") from None
    if not path.name.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(
            f"{path}: not a valid gzip file (the compressed data end early; "
            "the file may be an incomplete download)"
        ) from None
    except gzip.BadGzipFile as error:
        if not data.startswith(_GZIP_MAGIC):
            raise DataError(f"{path}: not a valid gzip file") from None
        raise DataError(f"{path}: not a valid gzip file ({error})") from None
    except (OSError, zlib.error) as error:
        raise DataError(f"{path}: not a valid gzip file ({error})") from None


def _check_magic(path: Path, data: bytes, expected: int, kind: str) -> None:
    if len(data) < 4:
        raise DataError(f"{path}: truncated: {len(data)} bytes is too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic == expected:
        return
    hint = ""
    if data.startswith(_GZIP_MAGIC):
        hint = "; the file looks gzip-compressed, so its name should end in .gz"
    raise DataError(
        f"{path}: wrong magic number 0x{magic:08x} (expected 0x{expected:08x}, "
        f"an IDX {kind} file){hint}"
    )


def _header(path: Path, data: bytes, fields: int) -> tuple[int, ...]:
    """The ``fields`` big-endian 32-bit numbers after the magic number."""
    size = 4 * (1 + fields)
    if len(data) < size:
        raise DataError(
            f"{path}: truncated: {len(data)} bytes is too short for the {size}-byte IDX header"
        )
    return tuple(int.from_bytes(data[4 * i : 4 * i + 4], "big") for i in range(1, fields + 1))


def _check_payload(path: Path, payload: int, count: int, item_size: int, noun: str) -> None:
    """Compare the bytes after the header with what the header's item count implies."""
    expected = count * item_size
    if payload < expected:
        whole, stray = divmod(payload, item_size)
        partial = f" and {stray} bytes of another" if stray else ""
        raise DataError(
            f"{path}: truncated: header says {count} {noun} but file holds {whole}{partial}"
        )
    if payload > expected:
        raise DataError(
            f"{path}: {payload - expected} unexpected bytes after the {count} {noun} "
            "the header declares"
        )


def read_idx_images(path: str | os.PathLike[str]) -> UInt8Array:
    """Read an IDX image file (plain or ``.gz``) into a read-only ``uint8`` (N, 28, 28) array.

    Raises:
        DataError: the file is missing, not gzip when named ``.gz``, not an IDX image file,
            truncated, longer than its header says, or not 28x28 images.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    _check_magic(path, data, IMAGE_MAGIC, "image")
    count, rows, cols = _header(path, data, 3)
    if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{path}: images are {rows}x{cols} pixels, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    if count == 0:
        raise DataError(f"{path}: holds no images")
    offset = 16
    _check_payload(path, len(data) - offset, count, rows * cols, "images")
    # frombuffer shares the decompressed bytes instead of copying 47 MB; bytes are
    # immutable, so the array is read-only, which is what we want anyway.
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(count, rows, cols)


def read_idx_labels(path: str | os.PathLike[str]) -> UInt8Array:
    """Read an IDX label file (plain or ``.gz``) into a read-only ``uint8`` (N,) array.

    Raises:
        DataError: the file is missing, not gzip when named ``.gz``, not an IDX label file,
            truncated, longer than its header says, or holds a label outside 0-9.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    _check_magic(path, data, LABEL_MAGIC, "label")
    (count,) = _header(path, data, 1)
    if count == 0:
        raise DataError(f"{path}: holds no labels")
    offset = 8
    _check_payload(path, len(data) - offset, count, 1, "labels")
    labels = np.frombuffer(data, dtype=np.uint8, offset=offset)
    _check_label_range(labels, str(path))
    return labels


def _check_label_range(labels: UInt8Array, where: str) -> None:
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        index = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(
            f"{where}: label {int(labels[index])} out of range 0-{NUM_CLASSES - 1} (item {index})"
        )


def write_idx(path: str | os.PathLike[str], array: npt.ArrayLike) -> None:
    """Write a ``uint8`` array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The file is written to a temporary name and renamed into place, so a reader never sees
    half of it. Used to build synthetic data sets for tests and fixtures.

    Raises:
        ValueError: ``array`` is not ``uint8`` or has no dimensions.
    """
    path = Path(path)
    values = np.asarray(array)
    if values.dtype != np.uint8:
        raise ValueError(f"IDX files written here hold uint8 data, got {values.dtype}")
    if not 1 <= values.ndim <= 255:
        raise ValueError(f"an IDX array needs 1 to 255 dimensions, got {values.ndim}")
    magic = (_UINT8_IDX_TYPE << 8) | values.ndim
    header = b"".join(int(n).to_bytes(4, "big") for n in (magic, *values.shape))
    content = header + np.ascontiguousarray(values).tobytes()
    if path.name.endswith(".gz"):
        # mtime=0 keeps the output byte-for-byte reproducible.
        content = gzip.compress(content, compresslevel=6, mtime=0)
    write_bytes(path, content)


# --- Finding the data ----------------------------------------------------------------------


def _display_path(path: Path) -> str:
    """``path`` with the home folder written as ``~``, as users see it in their shell."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return str(path)


def _expand_home(text: str) -> Path:
    """``text`` with a leading ``~`` or ``~user`` expanded, as the shell and Keras do.

    Left as it is when there is no such user, where ``Path.expanduser`` would raise.
    """
    try:
        return Path(os.path.expanduser(text))
    except ValueError:  # a NUL character in the user name
        return Path(text)


def keras_cache_dir() -> Path:
    """Where ``keras.datasets.fashion_mnist`` caches its download (honours ``$KERAS_HOME``)."""
    keras_home = os.environ.get("KERAS_HOME")
    base = _expand_home(keras_home) if keras_home else Path.home() / ".keras"
    return base / "datasets" / "fashion-mnist"


def candidate_dirs() -> list[SourceDir]:
    """The folders searched when neither ``data_dir`` nor ``$FMNIST_DATA_DIR`` is given.

    Tests replace this function to keep the lookup away from the real home folder.
    """
    cache = keras_cache_dir()
    return [
        SourceDir(cache, f"Keras cache ({_display_path(cache)})"),
        SourceDir(DEBIAN_DIR, f"Debian package ({DEBIAN_DIR})"),
    ]


def _find_file(folder: Path, stem: str) -> Path | None:
    # The uncompressed file wins when both exist: it loads without the gunzip cost.
    for name in (stem, f"{stem}.gz"):
        candidate = folder / name
        try:
            found = candidate.is_file()
        except OSError as error:  # a folder without search permission, a name too long
            raise DataError(f"{folder}: cannot read the folder: {os_reason(error)}") from None
        if found:
            return candidate
    return None


def _find_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The files found in ``folder`` by stem, and the stems that are missing."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for stem in FILE_STEMS:
        path = _find_file(folder, stem)
        if path is None:
            missing.append(stem)
        else:
            found[stem] = path
    return found, missing


def _read_pair(images_path: Path, labels_path: Path) -> tuple[UInt8Array, UInt8Array]:
    labels = read_idx_labels(labels_path)
    images = read_idx_images(images_path)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path}: holds {len(images)} images but {labels_path.name} holds "
            f"{len(labels)} labels"
        )
    return images, labels


def _load_folder(folder: Path, files: dict[str, Path], label: str) -> RawData:
    x_train, y_train = _read_pair(files[TRAIN_IMAGES], files[TRAIN_LABELS])
    x_test, y_test = _read_pair(files[TEST_IMAGES], files[TEST_LABELS])
    return RawData(x_train, y_train, x_test, y_test, label)


def _load_explicit(folder: Path, label: str) -> RawData:
    try:
        is_folder = folder.is_dir()
    except OSError as error:  # a parent without search permission, a name too long
        raise DataError(f"{label}: cannot read the folder: {os_reason(error)}") from None
    if not is_folder:
        raise DataError(f"{label}: no such folder")
    files, missing = _find_files(folder)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"missing file: {folder / missing[0]}(.gz){more}")
    return _load_folder(folder, files, label)


def keras_download(searched: list[SourceDir] | None = None) -> RawData:
    """Fetch Fashion-MNIST with Keras' own loader, the last resort of :func:`load_raw`.

    Keras (and with it TensorFlow) is imported here and only here, so that loading from files
    never pays for that import.

    Args:
        searched: the folders already searched, named in the error message.

    Raises:
        DataError: Keras is missing, the download failed, or its arrays are malformed.
    """
    try:
        # Imported by name at call time: importing Keras starts TensorFlow, which costs seconds.
        fashion_mnist = importlib.import_module("keras.datasets.fashion_mnist")
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    except Exception as error:  # noqa: BLE001  (Keras reports network failures as Exception)
        reason = one_line(error)
        where = ", ".join(_display_path(d.path) for d in searched or [])
        looked = f"not found in {where} and " if where else ""
        raise DataError(
            f"Fashion-MNIST {looked}the Keras download failed ({reason}); install the "
            f"Debian package {DEBIAN_PACKAGE} or pass --data-dir DIR"
        ) from None
    arrays = _checked_arrays(x_train, y_train, KERAS_DOWNLOAD_SOURCE + " (training set)")
    test_arrays = _checked_arrays(x_test, y_test, KERAS_DOWNLOAD_SOURCE + " (test set)")
    return RawData(*arrays, *test_arrays, KERAS_DOWNLOAD_SOURCE)


def _checked_arrays(
    images: npt.ArrayLike, labels: npt.ArrayLike, where: str
) -> tuple[UInt8Array, UInt8Array]:
    x = np.asarray(images)
    y = np.asarray(labels)
    if x.dtype != np.uint8 or y.dtype != np.uint8:
        raise DataError(f"{where}: expected uint8 arrays, got {x.dtype} and {y.dtype}")
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or y.ndim != 1:
        raise DataError(f"{where}: unexpected shapes {x.shape} and {y.shape}")
    if len(x) != len(y) or len(y) == 0:
        raise DataError(f"{where}: {len(x)} images but {len(y)} labels")
    _check_label_range(y, where)
    return _read_only(x), _read_only(y)


def load_raw(data_dir: str | os.PathLike[str] | None = None) -> RawData:
    """Load the four Fashion-MNIST arrays from the first source that has them.

    See the module docstring for the lookup order. ``RawData.source`` names the source.

    Raises:
        DataError: the chosen source is broken, or no source has the data.
    """
    if data_dir is not None and str(data_dir) != "":
        folder = _expand_home(os.fspath(data_dir))
        return _load_explicit(folder, f"--data-dir {folder}")
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        folder = _expand_home(env)
        return _load_explicit(folder, f"{DATA_DIR_ENV} {folder}")
    searched = candidate_dirs()
    for candidate in searched:
        files, missing = _find_files(candidate.path)
        # A partial set (say an interrupted Keras download) is skipped: the next source,
        # in the end Keras' download, can still complete it. A complete set that fails to
        # parse is an error, though, so a corrupt file is reported rather than hidden.
        if not missing:
            return _load_folder(candidate.path, files, candidate.label)
    return keras_download(searched)


# --- Split and subsets ---------------------------------------------------------------------


def _read_only(array: ArrayT) -> ArrayT:
    if array.flags.writeable:
        array.flags.writeable = False
    return array


def _balanced_quotas(class_counts: IndexArray, limit: int, rng: np.random.Generator) -> IndexArray:
    """How many samples to take from each class so that ``limit`` is spread evenly.

    Water-filling: the rarest classes are served first and give all they have when that is
    below an even share; what they could not give is shared among the rest. Ties (and so which
    classes get one sample more when ``limit`` does not divide evenly) go by a seeded shuffle.
    """
    order = rng.permutation(len(class_counts))
    order = order[np.argsort(class_counts[order], kind="stable")]
    quotas = np.zeros(len(class_counts), dtype=np.intp)
    remaining = limit
    for position, cls in enumerate(order):
        share = remaining // (len(order) - position)
        quotas[cls] = min(int(class_counts[cls]), share)
        remaining -= int(quotas[cls])
    return quotas


def balanced_subset(labels: UInt8Array, limit: int, seed: int = 0) -> IndexArray:
    """Sorted indices of a seeded, class-balanced subset of ``min(limit, len(labels))`` items.

    Each class gets an equal share where it has enough samples; classes short of their share
    give all they have and the others make up the difference.
    """
    rng = np.random.default_rng(seed)
    if limit >= len(labels):
        return np.arange(len(labels), dtype=np.intp)
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.intp)
    quotas = _balanced_quotas(counts, limit, rng)
    chosen = [
        rng.choice(np.flatnonzero(labels == cls), size=int(quota), replace=False)
        for cls, quota in enumerate(quotas)
        if quota
    ]
    return np.sort(np.concatenate(chosen)).astype(np.intp)


def _limited(
    images: UInt8Array, labels: UInt8Array, limit: int | None, seed: int, name: str
) -> tuple[UInt8Array, UInt8Array, IndexArray]:
    """The images and labels ``limit`` keeps, and where each one is in the full arrays."""
    if limit is not None and limit < 1:
        raise DataError(f"--{name.replace('_', '-')} must be at least 1, got {limit}")
    if limit is None or limit >= len(labels):
        return images, labels, _read_only(np.arange(len(labels), dtype=np.intp))
    indices = _read_only(balanced_subset(labels, limit, seed))
    return _read_only(images[indices]), _read_only(labels[indices]), indices


def prepare(
    raw: RawData,
    *,
    val_split: float = 0.2,
    limit_train: int | None = None,
    limit_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Apply the limits, then hold out the last ``val_split`` of the training set.

    ``limit_train`` counts the training set before the validation part is taken out of it.
    The validation part is the last ``int(N * val_split)`` samples, as Keras'
    ``validation_split`` takes them; both parts are views, not copies.

    Raises:
        DataError: a limit is below 1, ``val_split`` is outside [0, 1), or the split leaves
            the training or (for a non-zero ``val_split``) the validation part empty.
    """
    if not 0.0 <= val_split < 1.0:
        raise DataError(f"validation split must be between 0 and 1, got {val_split}")
    x_train, y_train, _ = _limited(raw.x_train, raw.y_train, limit_train, seed, "limit_train")
    x_test, y_test, test_indices = _limited(raw.x_test, raw.y_test, limit_test, seed, "limit_test")
    total = len(y_train)
    val_count = int(total * val_split)
    if val_split > 0 and val_count == 0:
        raise DataError(
            f"validation split {val_split} of {total} training samples leaves no validation samples"
        )
    fit_count = total - val_count
    if fit_count == 0:
        raise DataError(
            f"validation split {val_split} of {total} training samples leaves none to train on"
        )
    return Dataset(
        x_train=_read_only(x_train[:fit_count]),
        y_train=_read_only(y_train[:fit_count]),
        x_val=_read_only(x_train[fit_count:]),
        y_val=_read_only(y_train[fit_count:]),
        x_test=_read_only(x_test),
        y_test=_read_only(y_test),
        source=raw.source,
        test_indices=test_indices,
    )


def load_dataset(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    val_split: float = 0.2,
    limit_train: int | None = None,
    limit_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """:func:`load_raw` followed by :func:`prepare`."""
    return prepare(
        load_raw(data_dir),
        val_split=val_split,
        limit_train=limit_train,
        limit_test=limit_test,
        seed=seed,
    )


DatasetKey = tuple[object, ...]


def dataset_key(config: TrainConfig) -> DatasetKey:
    """What decides the arrays a run with ``config`` trains on: two configs with the same key
    train on the same data (the seed matters only when it picks subsets)."""
    limited = config.limit_train is not None or config.limit_test is not None
    return (
        config.data_dir,
        config.val_split,
        config.limit_train,
        config.limit_test,
        config.seed if limited else None,
    )


def load_dataset_for(config: TrainConfig) -> Dataset:
    """The arrays a run with ``config`` trains and is tested on."""
    return load_dataset(
        config.data_dir,
        val_split=config.val_split,
        limit_train=config.limit_train,
        limit_test=config.limit_test,
        seed=config.seed,
    )


# --- Synthetic data ------------------------------------------------------------------------


def _class_templates() -> npt.NDArray[np.float64]:
    """Ten 28x28 patterns in [0, 1], one per class, that differ in where the ink is."""
    templates = np.zeros((NUM_CLASSES, IMAGE_SIDE, IMAGE_SIDE))
    band = slice(3, 9), slice(11, 17), slice(19, 25)
    for i, rows in enumerate(band):
        templates[i, rows, 3:25] = 1.0  # horizontal bars: top, middle, bottom
        templates[3 + i, 3:25, rows] = 1.0  # vertical bars: left, middle, right
    diagonal = np.abs(np.subtract.outer(np.arange(28), np.arange(28)))
    templates[6][diagonal <= 2] = 1.0  # main diagonal
    templates[7][np.fliplr(diagonal) <= 2] = 1.0  # anti-diagonal
    templates[8, 9:19, 9:19] = 1.0  # central block
    templates[9, 3:25, 3:25] = 1.0  # hollow frame
    templates[9, 7:21, 7:21] = 0.0
    return templates


def synthetic_raw(train: int = 500, test: int = 100, seed: int = 0) -> RawData:
    """A small, learnable stand-in for Fashion-MNIST, for tests and demos.

    Each class is a distinct simple shape (bars, diagonals, a block, a frame) drawn at a random
    brightness, shifted by up to two pixels, over uniform noise. Classes are as balanced as the
    counts allow and appear in shuffled order. A small CNN gets far above chance in an epoch.
    """
    if train < 1 or test < 1:
        raise ValueError(f"synthetic data need at least 1 sample per split, got {train}, {test}")
    rng = np.random.default_rng(seed)
    pad = 2
    templates = np.pad(_class_templates(), ((0, 0), (pad, pad), (pad, pad)))
    pixels = np.arange(IMAGE_SIDE)

    def make(count: int) -> tuple[UInt8Array, UInt8Array]:
        labels = rng.permutation(np.arange(count) % NUM_CLASSES).astype(np.uint8)
        shift_rows = rng.integers(0, 2 * pad + 1, size=count)
        shift_cols = rng.integers(0, 2 * pad + 1, size=count)
        # One fancy-indexing gather crops every shifted template at once.
        shapes = templates[
            labels[:, None, None],
            (shift_rows[:, None] + pixels)[:, :, None],
            (shift_cols[:, None] + pixels)[:, None, :],
        ]
        brightness = rng.uniform(150, 255, size=(count, 1, 1))
        noise = rng.uniform(0, 70, size=(count, IMAGE_SIDE, IMAGE_SIDE))
        images = np.clip(shapes * brightness + noise, 0, 255).astype(np.uint8)
        return _read_only(images), _read_only(labels)

    x_train, y_train = make(train)
    x_test, y_test = make(test)
    return RawData(x_train, y_train, x_test, y_test, f"synthetic (seed {seed})")
