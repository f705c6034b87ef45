"""The ``explain`` and ``predict`` commands: why a run's model classified test images as it did,
and what it makes of the user's own pictures.

Plain lines on stdout (or one JSON document with ``--json``), every problem one line on stderr.
Everything that can be checked without Keras is checked first (the run folder, its model file,
the data, the indices, every picture), so a mistake costs no TensorFlow start-up; the model
work then runs with file descriptor 2 pointed at the log file, so TensorFlow's own output
never reaches the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from core.evaluation import CLASS_NAMES
from tui.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from core.config import TrainConfig
    from core.explanation import Explanation
    from core.images import Picture

EXPLANATIONS_DIR = "explanations"
"""Where ``explain`` writes its PNGs by default, inside the run folder."""
SHADES = " .:-=+*#%@"
"""``predict --show`` draws the 28x28 with these, darkest first (two characters a pixel)."""
MAP_DECIMALS = 5


class _Refused(Exception):
    """A one-line reason to stop with exit code 2."""


def _load_run(run_dir: Path) -> tuple[TrainConfig, Path]:
    """The run's config and its model file; :class:`_Refused` when either is missing."""
    from core.runs.catalogue import load_run

    try:
        run = load_run(run_dir)
    except OSError as error:  # RunError: missing or damaged files, one line
        raise _Refused(str(error)) from None
    if not run.model_path.is_file():
        raise _Refused(f"{run.model_path}: no model in this run (no epoch has finished)")
    return run.config, run.model_path


@contextmanager
def _quiet_keras(command: str) -> Iterator[TextIO]:
    """Point file descriptor 2 at a fresh log file for the block (``main`` has chosen the
    backend already); yield the real terminal's stderr, for the lines meant for the user."""
    from core.files import os_reason
    from core.logs import default_log_path, native_stderr_to, quiet_tensorflow_env

    quiet_tensorflow_env()
    log_path = default_log_path(command)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
    except OSError as error:
        raise _Refused(f"cannot write the log file {log_path}: {os_reason(error)}") from None
    with native_stderr_to(log_path) as terminal:
        yield terminal


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _rounded(values: Any, decimals: int = MAP_DECIMALS) -> Any:
    import numpy as np

    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


# --- explain -------------------------------------------------------------------------------------


def explain_command(args: argparse.Namespace) -> int:
    """``fmnist-tui explain RUN_DIR INDEX... [--out DIR] [--json] [--data-dir DIR]``."""
    try:
        return _explain(args)
    except _Refused as reason:
        print(f"fmnist-tui explain: error: {reason}", file=sys.stderr)
        return EXIT_USAGE


def _explain(args: argparse.Namespace) -> int:
    from core.data import DataError, load_raw

    config, model_path = _load_run(args.run_dir)
    try:
        # The standard test set, whatever --limit-test the run was evaluated with: INDEX is
        # the image's number in Fashion-MNIST itself.
        raw = load_raw(args.data_dir or config.data_dir)
    except DataError as error:
        raise _Refused(str(error)) from None
    count = len(raw.y_test)
    for index in args.indices:
        if not 0 <= index < count:
            raise _Refused(f"test image {index} does not exist (the test set has 0-{count - 1})")
    out_dir: Path = args.out or args.run_dir / EXPLANATIONS_DIR

    with _quiet_keras("explain") as terminal:
        from core.errors import ExportError
        from core.explain import ExplainError, explainer_for_run
        from core.explain_plot import plot_explanation

        try:
            explainer = explainer_for_run(model_path, config, raw)
            explainer.prepare()
        except (OSError, ExplainError) as error:
            terminal.write(f"fmnist-tui explain: error: {error}\n")
            return EXIT_USAGE
        records: list[dict[str, Any]] = []
        for index in args.indices:
            explanation = explainer.explain(raw.x_test[index], int(raw.y_test[index]))
            try:
                png = plot_explanation(
                    explanation, out_dir / f"test-{index:05d}.png", title=_title(index, explanation)
                )
            except ExportError as error:
                hint = "" if args.out else " (write elsewhere with --out DIR)"
                terminal.write(f"fmnist-tui explain: error: {error}{hint}\n")
                return EXIT_USAGE
            if args.json:
                records.append(_explanation_record(index, explanation, png))
            else:
                _print_explanation(index, explanation, png)
    if args.json:
        document = {
            "run": str(args.run_dir),
            "flip_averaged": explainer.flip_average,
            "patch": explainer.patch,
            "stride": explainer.stride,
            "map_unit": "log-odds",
            "classes": list(CLASS_NAMES),
            "explanations": records,
        }
        print(json.dumps(document))
    return EXIT_OK


def _title(index: int, explanation: Explanation) -> str:
    true = explanation.true_label
    assert true is not None
    verdict = "right" if explanation.correct else "wrong"
    return (
        f"Test image #{index}: true {CLASS_NAMES[true]}, predicted "
        f"{CLASS_NAMES[explanation.predicted]} ({_percent(explanation.confidence)}, {verdict})"
    )


def _print_explanation(index: int, explanation: Explanation, png: Path) -> None:
    from core.images import shown

    true = explanation.true_label
    assert true is not None
    others = ", ".join(f"{CLASS_NAMES[c]} {_percent(p)}" for c, p in explanation.top(3)[1:])
    print(
        f"test #{index}: true {CLASS_NAMES[true]}, predicted "
        f"{CLASS_NAMES[explanation.predicted]} {_percent(explanation.confidence)} "
        f"(then {others}){'' if explanation.correct else ' - wrong'}"
    )
    neighbours = ", ".join(
        f"{CLASS_NAMES[int(label)]} (train #{int(i)}, similarity {1 - float(d):.3f})"
        for i, label, d in zip(
            explanation.neighbour_indices,
            explanation.neighbour_labels,
            explanation.neighbour_distances,
            strict=True,
        )
    )
    print(f"  looked like: {neighbours}")
    print(f"  wrote {shown(png)}")


def _explanation_record(index: int, explanation: Explanation, png: Path) -> dict[str, Any]:
    true = explanation.true_label
    assert true is not None
    return {
        "index": index,
        "true": true,
        "true_name": CLASS_NAMES[true],
        "predicted": explanation.predicted,
        "predicted_name": CLASS_NAMES[explanation.predicted],
        "probabilities": _rounded(explanation.probabilities, 6),
        "evidence": _rounded(explanation.evidence),
        "against_true": (
            None if explanation.against_true is None else _rounded(explanation.against_true)
        ),
        "nearest": [
            {
                "index": int(i),
                "label": int(label),
                "name": CLASS_NAMES[int(label)],
                "similarity": round(1.0 - float(d), 6),
            }
            for i, label, d in zip(
                explanation.neighbour_indices,
                explanation.neighbour_labels,
                explanation.neighbour_distances,
                strict=True,
            )
        ],
        "png": str(png),
    }


# --- predict -------------------------------------------------------------------------------------


def predict_command(args: argparse.Namespace) -> int:
    """``fmnist-tui predict RUN_DIR IMAGE... [--json] [--show] [--out DIR]``."""
    try:
        return _predict(args)
    except _Refused as reason:
        print(f"fmnist-tui predict: error: {reason}", file=sys.stderr)
        return EXIT_USAGE


def _predict(args: argparse.Namespace) -> int:
    from core.images import ImageProblem, load_pictures, shown

    config, model_path = _load_run(args.run_dir)
    loaded = load_pictures(args.images)
    pictures = [entry for entry in loaded if not isinstance(entry, ImageProblem)]
    problems = [entry for entry in loaded if isinstance(entry, ImageProblem)]
    for problem in problems:
        print(f"fmnist-tui predict: {problem}", file=sys.stderr)
    records: list[dict[str, Any]] = []
    flip_averaged = False
    if pictures:
        import numpy as np

        from core.explanation import top_classes

        with _quiet_keras("predict") as terminal:
            from core.errors import ExportError
            from core.explain import class_probabilities, load_run_model
            from core.training import trained_on_flips

            try:
                model = load_run_model(model_path, config)
            except OSError as error:
                terminal.write(f"fmnist-tui predict: error: {error}\n")
                return EXIT_USAGE
            flip_averaged = trained_on_flips(model)
            probabilities = class_probabilities(model, np.stack([p.array for p in pictures]))
            pngs: list[Path | None] = [None] * len(pictures)
            if args.out is not None:
                try:
                    pngs = _write_prediction_pngs(pictures, probabilities, args.out)
                except ExportError as error:
                    terminal.write(f"fmnist-tui predict: error: {error}\n")
                    return EXIT_USAGE
        for picture, row, png in zip(pictures, probabilities, pngs, strict=True):
            if args.json:
                records.append(_prediction_record(picture, row, png))
                continue
            ranked = ", ".join(f"{CLASS_NAMES[c]} {_percent(p)}" for c, p in top_classes(row))
            print(f"{shown(picture.path)}: {ranked}")
            if args.show:
                for line in _drawn(picture.array):
                    print(f"  {line}".rstrip())
            if png is not None:
                print(f"  wrote {shown(png)}")
    if args.json:
        document = {
            "run": str(args.run_dir),
            "flip_averaged": flip_averaged,
            "classes": list(CLASS_NAMES),
            "pictures": records,
            "problems": [{"file": str(p.path), "error": p.reason} for p in problems],
        }
        print(json.dumps(document))
    return EXIT_FAILED if problems else EXIT_OK


def _write_prediction_pngs(
    pictures: list[Picture], probabilities: Any, out: Path
) -> list[Path | None]:
    from core.explain_plot import plot_prediction

    taken: set[str] = set()
    written: list[Path | None] = []
    for picture, row in zip(pictures, probabilities, strict=True):
        stem, number = picture.path.stem or "picture", 1
        name = f"{stem}.png"
        while name in taken:
            number += 1
            name = f"{stem}-{number}.png"
        taken.add(name)
        written.append(
            plot_prediction(
                picture.array,
                row,
                out / name,
                original=_original(picture.path),
                title=f"{picture.path.name}: {_verdict(row)}",
                steps=picture.steps,
            )
        )
    return written


def _verdict(row: Any) -> str:
    label = int(row.argmax())
    return f"{CLASS_NAMES[label]} ({_percent(float(row[label]))})"


def _original(path: Path) -> Any:
    """The picture as given, small, for the PNG; ``None`` if it cannot be read again."""
    import numpy as np
    from PIL import Image, ImageOps

    from core.images import FORMATS

    try:
        with Image.open(path, formats=FORMATS) as image:
            image.draft("RGB", (512, 512))
            upright = ImageOps.exif_transpose(image).convert("RGB")
            upright.thumbnail((512, 512))
            return np.asarray(upright)
    except Exception:  # noqa: BLE001 - it was read once; the PNG does without it
        return None


def _drawn(image: Any) -> list[str]:
    """The 28x28 as 28 lines of text, two characters a pixel (a pixel is about twice as tall
    as a character is wide)."""
    levels = (image.astype(int) * len(SHADES)) // 256
    return ["".join(SHADES[v] * 2 for v in row).rstrip() for row in levels]


def _prediction_record(picture: Picture, row: Any, png: Path | None) -> dict[str, Any]:
    from core.explanation import top_classes

    return {
        "file": str(picture.path),
        "top": [
            {"label": c, "name": CLASS_NAMES[c], "probability": round(p, 6)}
            for c, p in top_classes(row)
        ],
        "probabilities": _rounded(row, 6),
        "image": picture.array.tolist(),
        "steps": list(picture.steps),
        "png": None if png is None else str(png),
    }
