"""Why the model said what it said: class probabilities, an occlusion map, nearest training images.

For one image the :class:`Explainer` answers, in one call into the model:

- the ten class probabilities, exactly as the run's evaluation computed them (averaged with
  the mirror image's for a model trained on mirrored images, as :func:`core.training.
  evaluate_model` does);
- an **occlusion map**: each square patch of the image in turn is painted black and the
  image classified again; where hiding a patch lowers the predicted class's log-odds, that
  patch was evidence for it, and where hiding it raises the true class's log-odds, that patch
  is what argued against the true class (:func:`log_odds`: why log-odds, not probabilities);
- the three training images nearest to it in the model's own **penultimate features** (the
  input of its final classifier layer), by cosine similarity: "it looked like these boots".

Why occlusion rather than gradients (saliency, Grad-CAM, integrated gradients): occlusion needs
nothing but predictions, so it works unchanged on TensorFlow, JAX and PyTorch under Keras 3,
and on any model, presets and user-defined ones. Gradients need each backend's own autodiff
(``tf.GradientTape``, ``jax.grad``, ``torch.autograd``): Keras 3 has no gradient op of its own
yet (keras-team/keras#20760, #22442). Occlusion also answers the question a user asks ("what
if this part were not there?") in the model's own output, not in gradient units.

Importing this module imports Keras (and so the backend's framework): front ends import it
lazily, after :func:`core.backend.select_backend`. Like all model calls, an :class:`Explainer`
is used from one thread (TensorFlow is not thread-safe).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import numpy.typing as npt

from core.config import TrainConfig
from core.data import IMAGE_SIDE, RawData, balanced_subset
from core.errors import RunError
from core.evaluation import NUM_CLASSES
from core.explanation import PATCH, STRIDE, Explanation
from core.model_files import ModelFileError, custom_objects, run_copy
from core.models import takes_raw_images
from core.training import load_saved_model, predict, trained_on_flips

if TYPE_CHECKING:
    from core.evaluation import Evaluation
    from core.runs.layout import MistakeMaps

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

FILL = 0
"""What a patch is painted with: black, the background of every Fashion-MNIST image (the
data set's pipeline negates a white product-photo background to 0). A hidden part then looks
like a part that is not there, which is the question asked. A grey or mean-value patch would
add a grey square the model never saw in training, and that square is itself evidence (of a
textured shirt, say). The price: black background cannot be occluded, so the absence of ink
(the gap between trouser legs) never shows as evidence."""
NEIGHBOURS = 3
BATCH_STEP = 64
"""Occlusion batches are a multiple of this many images."""
FEATURE_BATCH = 1024
"""Training images per call while computing their features once."""
CACHE_SIZE = 256
"""Explanations kept per explainer: a cursor moving back over what it has shown is instant."""
PROBABILITY_FLOOR = 1e-30
"""A probability (or the other classes' sum) below this counts as this in :func:`log_odds`: a
softmax that underflowed to 0 would make the log infinite."""


class ExplainError(ValueError):
    """A model cannot be explained (its shape is not a classifier's); one line for the user."""


def occlusion_masks(patch: int = PATCH, stride: int = STRIDE, side: int = IMAGE_SIDE) -> Any:
    """``(P, side, side)`` booleans, one square patch per position; the last position on each
    axis touches the far edge, so every pixel is covered at least once."""
    if not 1 <= patch <= side or stride < 1:
        raise ValueError(f"patch must be 1-{side} and stride at least 1, got {patch}, {stride}")
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)
    masks = np.zeros((len(starts) ** 2, side, side), dtype=bool)
    for k, (row, col) in enumerate((r, c) for r in starts for c in starts):
        masks[k, row : row + patch, col : col + patch] = True
    return masks


def class_probabilities(
    model: keras.Model, images: UInt8Array, *, flip_average: bool | None = None
) -> FloatArray:
    """``(N, 10)`` class probabilities of uint8 images ``(N, 28, 28)``, computed as the run's
    evaluation computes them (:func:`core.training.evaluate_model`): the mean over each image
    and its mirror image for a model trained on mirrored images (``flip_average`` None), else
    the image alone."""
    pixels = np.ascontiguousarray(images, dtype=np.uint8)
    single = np.asarray(predict(model, pixels), dtype=np.float32)
    if not (trained_on_flips(model) if flip_average is None else flip_average):
        return single
    mirrored = np.asarray(predict(model, np.ascontiguousarray(pixels[:, :, ::-1])), np.float32)
    return np.asarray((single + mirrored) / 2, dtype=np.float32)


def log_odds(probabilities: npt.ArrayLike, label: int) -> npt.NDArray[np.float64]:
    """The log-odds ``ln(p / (1 - p))`` of class ``label`` in each row of ``(N, 10)``
    probabilities, with ``1 - p`` summed from the other classes (exact where ``p`` rounds to 1
    in float32) and both floored at :data:`PROBABILITY_FLOOR`.

    The occlusion maps are changes in log-odds rather than in probability because a softmax
    saturates: hiding the strap of a sandal predicted at 99.9% may lower the odds tenfold yet
    the probability only to 99%, a change of 0.009 that a map drawn in probability shows as
    nothing (the seed's confident predictions, right or wrong, had maps peaking near 0.006).
    In log-odds the same change is 2.3 whatever the confidence: the seed's maps peak between
    0.7 and 2 for confident and unsure predictions alike. The order of the patches is the
    same in both units (log-odds rise with the probability), so what the deletion test chose
    the patch size by holds.
    """
    rows = np.asarray(probabilities, dtype=np.float64).reshape(-1, NUM_CLASSES)
    own = rows[:, label]
    rest = np.delete(rows, label, axis=1).sum(axis=1)
    return np.asarray(
        np.log(np.maximum(own, PROBABILITY_FLOOR)) - np.log(np.maximum(rest, PROBABILITY_FLOOR))
    )


def _producer(tensor: Any) -> tuple[Any, list[Any]]:
    """The layer that made a symbolic tensor, and the tensors it was called on."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        raise ExplainError("the model's graph cannot be traced back from its output")
    layer = history.operation
    node = layer._inbound_nodes[history.node_index]
    return layer, list(node.input_tensors)


def features_and_output(model: keras.Model) -> keras.Model:
    """A model with ``model``'s input and weights whose outputs are ``[features,
    probabilities]``: ``features`` is the input of the final classifier layer (the last layer
    with weights on the way back from the output; weightless layers after it, a separate
    softmax say, are looked through), ``probabilities`` the model's own output.

    Works for Sequential and functional models; when the final layer is itself a model (a
    functional body behind the shared preprocessing), its own final layer's input is used.

    Raises:
        ExplainError: the model has no single input and output, or its graph branches there.
    """
    if len(model.inputs or []) != 1 or len(model.outputs or []) != 1:
        raise ExplainError("only models with one input and one output can be explained")
    output = model.outputs[0]
    tensor = output
    while True:
        layer, inputs = _producer(tensor)
        if isinstance(layer, keras.layers.InputLayer) or len(inputs) != 1:
            raise ExplainError("the model has no single classifier layer to take features from")
        if isinstance(layer, keras.Model) and tensor is output:
            inner = features_and_output(layer)
            return keras.Model(model.inputs[0], inner(inputs[0]), name=f"{model.name}_explained")
        if layer.weights:
            return keras.Model(model.inputs[0], [inputs[0], output], name=f"{model.name}_explained")
        tensor = inputs[0]


def _unit_rows(features: npt.NDArray[Any]) -> FloatArray:
    flat = features.reshape(len(features), -1).astype(np.float32)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    # An all-zero feature vector (every ReLU off) is similar to nothing: leave it zero.
    return np.asarray(flat / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _model_input(images: UInt8Array, raw: bool) -> Any:
    """What a model is called on: raw uint8 images, or 0-1 floats with a channel axis for a
    model saved before preprocessing moved inside."""
    return images if raw else (images.astype(np.float32) / 255.0)[..., np.newaxis]


@dataclass(frozen=True, slots=True, eq=False)
class _Maps:
    probabilities: FloatArray
    predicted: int
    evidence: FloatArray
    against_true: FloatArray | None


class _Occluder:
    """The occlusion part of an explanation: which copies of an image to classify, and the
    per-pixel maps their probabilities make."""

    def __init__(self, patch: int, stride: int) -> None:
        self.masks = occlusion_masks(patch, stride)
        self._coverage = self.masks.sum(axis=0).astype(np.float32)
        self._weights = self.masks.reshape(len(self.masks), -1).astype(np.float32)

    def batch(self, pixels: UInt8Array) -> tuple[UInt8Array, npt.NDArray[np.bool_]]:
        """The image, then each copy of it with one patch blacked out, then padding; and
        which patches made a copy (the others cover only black)."""
        # A patch over pixels that are black already changes nothing: its answer is the
        # image's own, so only the others are classified (30% fewer on the test set's
        # average, half or more for a sandal or trousers).
        changing = (self.masks & (pixels != FILL)).any(axis=(1, 2))
        occluded = np.where(self.masks[changing], np.uint8(FILL), pixels[np.newaxis])
        count = 1 + len(occluded)
        # Rounded up with copies of the image to a multiple of BATCH_STEP, so that a backend
        # that compiles per batch shape (JAX) sees a dozen shapes, not hundreds.
        padding = np.repeat(pixels[np.newaxis], -count % BATCH_STEP, axis=0)
        return np.concatenate([pixels[np.newaxis], occluded, padding]), changing

    def maps(
        self, probabilities: FloatArray, changing: npt.NDArray[np.bool_], true_label: int | None
    ) -> _Maps:
        """The maps from the probabilities of :meth:`batch`'s images (padding included)."""
        base = probabilities[0]
        hidden = np.repeat(base[np.newaxis], len(self.masks), axis=0)
        hidden[changing] = probabilities[1 : 1 + int(changing.sum())]
        predicted = int(np.argmax(base))
        evidence = self._per_pixel(log_odds(base, predicted) - log_odds(hidden, predicted))
        against = None
        if true_label is not None and true_label != predicted:
            against = self._per_pixel(log_odds(hidden, true_label) - log_odds(base, true_label))
        return _Maps(base.astype(np.float32), predicted, evidence, against)

    def _per_pixel(self, change: npt.NDArray[np.floating]) -> FloatArray:
        """Each patch's change spread over its pixels: a pixel gets the mean over the patches
        that cover it."""
        total = (change.astype(np.float32) @ self._weights).reshape(IMAGE_SIDE, IMAGE_SIDE)
        return np.asarray(total / self._coverage, dtype=np.float32)


class Explainer:
    """A model and the training images it learned from, ready to explain one image fast.

    The training images' features are computed once (:meth:`prepare`, or at the first
    :meth:`explain`) and kept in memory; each :meth:`explain` is then one call into the
    model plus a matrix-vector product, and its answer is cached by image.

    Args:
        model: a Fashion-MNIST classifier (raw uint8 ``(28, 28)`` in, or a model saved before
            preprocessing moved inside, taking 0-1 floats ``(28, 28, 1)``).
        train_images: ``(N, 28, 28)`` uint8, the images to find neighbours among.
        train_labels: ``(N,)``.
        train_indices: ``(N,)``, each image's index in the standard training set (default:
            ``0..N-1``), the numbers an :class:`Explanation` reports.
        flip_average: average each prediction with the mirror image's (default: when the model
            was trained on mirrored images, as its evaluation does).
    """

    def __init__(
        self,
        model: keras.Model,
        train_images: UInt8Array,
        train_labels: npt.NDArray[Any],
        train_indices: npt.NDArray[Any] | None = None,
        *,
        flip_average: bool | None = None,
        patch: int = PATCH,
        stride: int = STRIDE,
    ) -> None:
        if len(train_images) != len(train_labels) or len(train_images) < NEIGHBOURS:
            raise ValueError(
                f"need at least {NEIGHBOURS} training images with as many labels, got "
                f"{len(train_images)} and {len(train_labels)}"
            )
        self.model = model
        self.flip_average = trained_on_flips(model) if flip_average is None else flip_average
        self.patch, self.stride = patch, stride
        self._raw = takes_raw_images(model)
        self._both = features_and_output(model)
        self._occluder = _Occluder(patch, stride)
        self.train_images = train_images
        self.train_labels = np.asarray(train_labels, dtype=np.int64)
        self.train_indices = (
            np.arange(len(train_images), dtype=np.int64)
            if train_indices is None
            else np.asarray(train_indices, dtype=np.int64)
        )
        self._train_features: FloatArray | None = None
        self._cache: OrderedDict[tuple[bytes, int | None], Explanation] = OrderedDict()
        self.prepare_seconds: float | None = None
        self.last_batch_size = 0
        """Images the last computed explanation classified (for measuring)."""

    @property
    def variants(self) -> int:
        """The most images one explanation classifies: the image and each occluded copy
        (twice that with flip averaging); fewer when some patches cover only black."""
        return (1 + len(self._occluder.masks)) * (2 if self.flip_average else 1)

    @property
    def prepared(self) -> bool:
        """Whether the training images' features are computed (:meth:`prepare`)."""
        return self._train_features is not None

    def _call(self, images: UInt8Array) -> tuple[FloatArray, FloatArray]:
        """Features and probabilities of ``images`` (one view, no averaging), in one call."""
        # Keras' compiled predict step (a tf.function, a jitted JAX function, PyTorch without
        # gradients): 2.5x faster than calling the model eagerly on TensorFlow and JAX, the
        # same on PyTorch (512 images: 52 against 130 ms, TensorFlow, 2-core CPU).
        features, probabilities = self._both.predict_on_batch(_model_input(images, self._raw))
        return np.asarray(features), np.asarray(probabilities, dtype=np.float32)

    def prepare(self) -> float:
        """Compute the training images' features now (once); the seconds it took."""
        if self._train_features is None:
            started = time.perf_counter()
            chunks = [
                _unit_rows(self._call(self.train_images[start : start + FEATURE_BATCH])[0])
                for start in range(0, len(self.train_images), FEATURE_BATCH)
            ]
            self._train_features = np.concatenate(chunks)
            self.prepare_seconds = time.perf_counter() - started
        return self.prepare_seconds or 0.0

    def probabilities(self, images: UInt8Array) -> FloatArray:
        """:func:`class_probabilities` of ``images`` with this explainer's flip averaging."""
        return class_probabilities(self.model, images, flip_average=self.flip_average)

    def explain(self, image: npt.ArrayLike, true_label: int | None = None) -> Explanation:
        """The explanation of one ``(28, 28)`` uint8 image (cached by image and label).

        Raises:
            ValueError: ``image`` is not 28x28, or ``true_label`` is not a class.
        """
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        if pixels.shape != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"an image must be 28x28, got {pixels.shape}")
        if true_label is not None and not 0 <= true_label < NUM_CLASSES:
            raise ValueError(f"a label must be 0-9, got {true_label}")
        key = (pixels.tobytes(), true_label)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        self.prepare()
        explanation = self._compute(pixels, true_label)
        self._cache[key] = explanation
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return explanation

    def _compute(self, pixels: UInt8Array, true_label: int | None) -> Explanation:
        batch, changing = self._occluder.batch(pixels)
        self.last_batch_size = len(batch) * (2 if self.flip_average else 1)
        if self.flip_average:
            # The mirror of an occluded image is the mirrored image, occluded: averaging the
            # two keeps every probability the one the evaluation would give that image.
            features, both = self._call(np.concatenate([batch, batch[:, :, ::-1]]))
            probabilities = np.asarray((both[: len(batch)] + both[len(batch) :]) / 2, np.float32)
        else:
            features, probabilities = self._call(batch)
        maps = self._occluder.maps(probabilities, changing, true_label)
        indices, distances = self._nearest(features[0])
        return Explanation(
            image=pixels,
            probabilities=maps.probabilities,
            predicted=maps.predicted,
            true_label=true_label,
            evidence=maps.evidence,
            against_true=maps.against_true,
            neighbour_indices=self.train_indices[indices],
            neighbour_labels=self.train_labels[indices],
            neighbour_distances=distances,
            neighbour_images=np.ascontiguousarray(self.train_images[indices]),
            flip_averaged=self.flip_average,
            patch=self.patch,
            stride=self.stride,
        )

    def _nearest(self, features: npt.NDArray[Any]) -> tuple[Any, FloatArray]:
        train = self._train_features
        assert train is not None  # prepare() ran
        query = _unit_rows(features[np.newaxis])[0]
        similarity = train @ query
        nearest = np.argpartition(-similarity, NEIGHBOURS - 1)[:NEIGHBOURS]
        nearest = nearest[np.argsort(-similarity[nearest], kind="stable")]
        return nearest, (1.0 - similarity[nearest]).astype(np.float32)


# --- A saved run -------------------------------------------------------------------------------


def training_part(
    raw: RawData, config: TrainConfig
) -> tuple[UInt8Array, npt.NDArray[np.uint8], IntArray]:
    """The training images a run with ``config`` learned from, their labels, and their
    indices in the standard training set: its class-balanced ``--limit-train`` subset, less
    the validation part, exactly as :func:`core.data.prepare` takes them."""
    total = len(raw.y_train)
    if config.limit_train is None or config.limit_train >= total:
        fit = total - int(total * config.val_split)
        # Views, not copies: the 48,000 images are 37 MB.
        return raw.x_train[:fit], raw.y_train[:fit], np.arange(fit, dtype=np.int64)
    indices = balanced_subset(raw.y_train, config.limit_train, config.seed).astype(np.int64)
    kept = indices[: len(indices) - int(len(indices) * config.val_split)]
    return raw.x_train[kept], raw.y_train[kept], kept


def load_run_model(model_path: Path, config: TrainConfig) -> keras.Model:
    """A saved run's model (``model_path``, in the run folder), with the Keras classes its
    model file defined when it was trained from one (read from the run folder's checked copy
    of the file, whatever became of the original).

    Raises:
        RunError: the model file is missing, damaged or not a Fashion-MNIST classifier, or
            the run's copy of its model file is missing, changed or raises.
    """
    objects = None
    if config.model_file is not None:
        try:
            objects = custom_objects(run_copy(model_path.parent, config.model_sha256 or ""))
        except ModelFileError as error:
            raise RunError(str(error)) from None
    return load_saved_model(model_path, objects)


_RUN_CACHE: OrderedDict[tuple[object, ...], Explainer] = OrderedDict()
_RUN_CACHE_SIZE = 4
"""Runs whose explainer is kept (the seed's model and training features: about 12 MB)."""


def explainer_for_run(
    model_path: Path,
    config: TrainConfig,
    raw: RawData,
    *,
    loading: Callable[[], None] = lambda: None,
) -> Explainer:
    """The explainer of a saved run's model over the images it trained on, cached in memory
    by (model file, size, modification time, data): reopening a run is instant, and a run
    trained further (a new ``model.keras``) gets new features. ``loading`` is called first
    when the model is not cached and must be read from its file.

    The training features are not cached on disk: computing them takes about 5 s for the
    seed's 48,000 images on a 2-core CPU, once per process, while a cache file in the run
    folder would need the run folder to be writable (a teammate's is often not) and to be
    invalidated whenever the run is resumed.

    Raises:
        RunError: the model file is missing, damaged or not a Fashion-MNIST classifier.
        ExplainError: the model's graph has no classifier layer to take features from.
    """
    stat = model_path.stat()
    key = (
        str(model_path.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        raw.source,
        len(raw.y_train),
        config.limit_train,
        config.seed,
        config.val_split,
    )
    cached = _RUN_CACHE.get(key)
    if cached is not None:
        _RUN_CACHE.move_to_end(key)
        return cached
    loading()
    images, labels, indices = training_part(raw, config)
    explainer = Explainer(load_run_model(model_path, config), images, labels, indices)
    _RUN_CACHE[key] = explainer
    if len(_RUN_CACHE) > _RUN_CACHE_SIZE:
        _RUN_CACHE.popitem(last=False)
    return explainer


# --- The export's maps -------------------------------------------------------------------------

EXPORT_STRIDE = 2
"""The exported grid's maps place their patches two pixels apart: a quarter of the model calls
of the app's maps (which a run's end waits for, 25 images at once), and at the size of a
grid tile the blockier map reads the same."""
EXPORT_CHUNK = 1024
"""Occluded images per model call while mapping the grid: one batch shape for every call."""


def mistake_maps(
    model: keras.Model,
    test_images: UInt8Array,
    evaluation: Evaluation,
    *,
    stride: int = EXPORT_STRIDE,
    cancelled: Callable[[], bool] = lambda: False,
) -> MistakeMaps | None:
    """The occlusion maps of the mistakes the exported grid shows
    (:func:`core.export.grid_mistakes`), computed as :class:`Explainer` computes its maps
    (flip-averaged for a model trained on mirrored images), for ``evaluation.npz``: the export
    draws them without the model. ``None`` when there are no mistakes or ``cancelled()``
    became true between model calls.
    """
    from core.export import grid_mistakes
    from core.runs.layout import MistakeMaps

    shown = grid_mistakes(evaluation)
    if not shown:
        return None
    occluder = _Occluder(PATCH, stride)
    flip = trained_on_flips(model)
    raw = takes_raw_images(model)
    batches = [occluder.batch(np.ascontiguousarray(test_images[m.index])) for m in shown]
    images = np.concatenate([batch for batch, _ in batches])
    probabilities = np.empty((len(images), NUM_CLASSES), dtype=np.float32)
    for start in range(0, len(images), EXPORT_CHUNK):
        if cancelled():
            return None
        chunk = images[start : start + EXPORT_CHUNK]
        padded = np.concatenate([chunk, np.repeat(chunk[:1], EXPORT_CHUNK - len(chunk), axis=0)])
        views = [padded, padded[:, :, ::-1]] if flip else [padded]
        answers = [
            np.asarray(model.predict_on_batch(_model_input(np.ascontiguousarray(v), raw)))
            for v in views
        ]
        mean = np.mean(np.stack(answers), axis=0)
        probabilities[start : start + len(chunk)] = mean[: len(chunk)]
    evidence, against = [], []
    start = 0
    for mistake, (batch, changing) in zip(shown, batches, strict=True):
        maps = occluder.maps(
            probabilities[start : start + len(batch)], changing, mistake.true_label
        )
        start += len(batch)
        evidence.append(maps.evidence)
        # A mistake's own true class always differs from the prediction of the same
        # probabilities, but a tie broken otherwise than the evaluation broke it would not.
        against.append(
            np.zeros_like(maps.evidence) if maps.against_true is None else maps.against_true
        )
    return MistakeMaps(
        indices=np.array([m.index for m in shown], dtype=np.int64),
        evidence=np.stack(evidence),
        against_true=np.stack(against),
    )
