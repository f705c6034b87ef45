"""The engine's work with trained models: explaining test images and classifying pictures.

Runs in the engine thread (``tui.engine``), the one that owns the ML framework; Keras and
``core.explain`` are imported on the first command that needs them. The model is the run on
show's: the session's held model when it is that run's (no file is read), else the one saved
in its run folder, loaded once and kept with the training images its neighbours come from.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import RunError
from core.runs.layout import MODEL_FILE
from core.session import RunSession
from tui.reports import (
    ExplanationFailed,
    ExplanationProgress,
    ExplanationReady,
    PredictedPicture,
    PredictionFailed,
    PredictionsReady,
    Report,
)

if TYPE_CHECKING:
    import keras

    from core.config import TrainConfig
    from core.data import RawData
    from core.explain import Explainer
    from tui.engine_commands import Explain, Predict

Reporter = Callable[[Report], None]


class TrainedModels:
    """Explainers and models of the runs the app shows, for the engine's commands."""

    def __init__(self, session: RunSession, *, freeze: Callable[[], None]) -> None:
        """
        Args:
            session: the engine's session, whose held model is the run trained last.
            freeze: moves long-lived objects out of the garbage collector's sight (the
                engine's ``_freeze_survivors``), after a model or its features are made.
        """
        self.session = session
        self._freeze = freeze
        self._held: tuple[tuple[object, ...], Explainer] | None = None
        """The held model's explainer, and what it was made for (run, epochs, model)."""
        self._raw: tuple[str | None, RawData] | None = None
        """The standard data set, for saved runs' neighbours, by data folder."""
        self._saved_model: tuple[tuple[object, ...], keras.Model] | None = None
        """The last saved run's model loaded to classify pictures."""

    # --- Explain ---------------------------------------------------------------------------

    def explain(self, command: Explain, report: Reporter) -> None:
        """Explain one test image; report the explanation or why there is none."""
        from core.data import DataError
        from core.explain import ExplainError

        def failed(message: str) -> None:
            report(ExplanationFailed(command.run_id, command.request_id, message))

        try:
            found = self._explainer(command, report)
            if found is None:
                failed(_no_model(command.run_id))
                return
            explainer, standard = found
            if not explainer.prepared:
                count = len(explainer.train_labels)
                report(
                    ExplanationProgress(
                        command.run_id,
                        command.request_id,
                        f"computing the features of {count:,} training images…",
                    )
                )
                explainer.prepare()
                self._freeze()
            explanation = explainer.explain(command.image, command.true_label)
        except (RunError, DataError, ExplainError) as error:
            failed(str(error))
            return
        report(
            ExplanationReady(
                command.run_id, command.index, command.request_id, explanation, standard
            )
        )

    def _explainer(self, command: Explain, report: Reporter) -> tuple[Explainer, bool] | None:
        """The explainer of the run on show, and whether its neighbours' numbers are the
        standard training set's; ``None``: the run's model is neither held nor saved."""
        from core.explain import Explainer, explainer_for_run

        state, dataset = self.session.state, self.session.run_dataset
        if state is not None and dataset is not None and state.run_id == command.run_id:
            key = (state.run_id, state.epochs_done, id(state.model))
            if self._held is None or self._held[0] != key:
                self._held = None
                # The run's own training part: under --limit-train a subset, numbered by
                # its place there (Dataset keeps no indices into the standard set).
                self._held = (key, Explainer(state.model, dataset.x_train, dataset.y_train))
            return self._held[1], state.config.limit_train is None
        model_path = _model_path(command.run_dir, command.config)
        if model_path is None or command.config is None:
            return None
        raw = self._standard_data(command, command.config.data_dir, report)

        def loading() -> None:
            report(ExplanationProgress(command.run_id, command.request_id, "loading the model…"))

        # Said only when the model is read: a progress report for every explanation would
        # redraw the panel (and take the UI thread) while the engine computes.
        explainer = explainer_for_run(model_path, command.config, raw, loading=loading)
        return explainer, True

    def _standard_data(self, command: Explain, data_dir: str | None, report: Reporter) -> RawData:
        """The standard data set (a saved run's neighbours are its training images), loaded
        once per data folder."""
        from core.data import load_raw

        if self._raw is None or self._raw[0] != data_dir:
            report(
                ExplanationProgress(
                    command.run_id, command.request_id, "loading the training images…"
                )
            )
            self._raw = None  # the old arrays go before the new ones load
            self._raw = (data_dir, load_raw(data_dir))
        return self._raw[1]

    # --- Predict ---------------------------------------------------------------------------

    def predict(self, command: Predict, report: Reporter) -> None:
        """Classify the pictures in ``command.paths``; a file that cannot be read is a
        problem of its own line, and the others are still classified."""
        from core.images import ImageProblem, load_pictures, shown

        loaded = load_pictures(command.paths)
        pictures = [entry for entry in loaded if not isinstance(entry, ImageProblem)]
        problems = tuple(str(entry) for entry in loaded if isinstance(entry, ImageProblem))
        if not pictures:
            report(PredictionsReady(command.run_id, (), problems, flip_averaged=False))
            return
        try:
            model = self._model(command)
        except RunError as error:
            report(PredictionFailed(str(error)))
            return
        if model is None:
            report(PredictionFailed(_no_model(command.run_id)))
            return
        from core.explain import class_probabilities
        from core.explanation import top_classes
        from core.training import trained_on_flips

        probabilities = class_probabilities(model, np.stack([p.array for p in pictures]))
        results = tuple(
            PredictedPicture(shown(picture.path), picture.array, tuple(top_classes(row, 3)))
            for picture, row in zip(pictures, probabilities, strict=True)
        )
        report(
            PredictionsReady(
                command.run_id, results, problems, flip_averaged=trained_on_flips(model)
            )
        )

    def _model(self, command: Predict) -> keras.Model | None:
        from core.explain import load_run_model

        state = self.session.state
        if state is not None and state.run_id == command.run_id:
            return state.model
        model_path = _model_path(command.run_dir, command.config)
        if model_path is None or command.config is None:
            return None
        stat = model_path.stat()
        key: tuple[Any, ...] = (str(model_path), stat.st_size, stat.st_mtime_ns)
        if self._saved_model is None or self._saved_model[0] != key:
            self._saved_model = None
            self._saved_model = (key, load_run_model(model_path, command.config))
            self._freeze()
        return self._saved_model[1]


def _model_path(run_dir: Path | None, config: TrainConfig | None) -> Path | None:
    """The saved model of a run folder; ``None`` when there is no folder.

    Raises:
        RunError: the folder has no model (no epoch finished, or it was deleted).
    """
    if run_dir is None or config is None:
        return None
    path = run_dir / MODEL_FILE
    if not path.is_file():
        raise RunError(f"{path}: no model in this run folder")
    return path


def _no_model(run_id: str) -> str:
    return f"{run_id}: its model is no longer in memory and was never saved"
