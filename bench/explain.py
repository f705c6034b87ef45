"""How long an explanation takes: from "the cursor moved to test image i" to "ready".

What is timed is :meth:`core.explain.Explainer.explain` on a test image it has not seen (the
occlusion batch in one call into the model, the flip average where the model uses one, the
per-pixel map and the nearest training images), which is the work the app's worker does
when the cursor lands on an image. The training images' features are computed once
beforehand (:meth:`~core.explain.Explainer.prepare`), and that one-off cost is reported too,
as are a revisit (the cache) and the first call (tracing, warm-up), which are not in the
percentiles. Cost does not depend on the weights, so without ``--run-dir`` an untrained seed
is timed.

``--compare`` instead scores occlusion patch sizes and strides by the deletion test (Petsiuk
et al., 2018, "RISE"): delete an image's ink pixels in the order of its evidence map, most
evidence first, and follow the predicted class's probability; the lower the area under that
curve, the better the map finds what the prediction rests on. A random order is the baseline.
It needs a trained run (``--run-dir``).

``uv run python -m bench.explain [--run-dir RUN | --model PRESET] [--images 200]
[--backend tensorflow] [--data-dir DIR] [--out FILE]``, or ``... --compare --run-dir RUN
[--images 300]``. Not part of ``python -m bench`` (which has no table for it): the JSON goes
to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, code_version, find_data_dir, now_iso, progress, summarize

RESULTS = ROOT / "bench" / "results"
COMPARED = ((1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (8, 1), (3, 2), (4, 2), (6, 2))
"""(patch, stride) pairs ``--compare`` scores."""
DELETION_STEPS = 20


def _record(command: list[str], payload: dict[str, Any]) -> dict[str, Any]:
    from bench.machine import describe_machine
    from core.backend import active_backend

    return {
        "date": now_iso(),
        "command": "uv run python -m bench.explain " + " ".join(command),
        "code": code_version(),
        "machine": describe_machine(),
        "backend": active_backend(),
        **payload,
    }


def _explainer(
    run_dir: Path | None, data_dir: Path, model_name: str = "seed", **options: Any
) -> tuple[Any, Any, str]:
    from core.config import TrainConfig
    from core.data import load_raw
    from core.explain import Explainer, training_part

    raw = load_raw(data_dir)
    if run_dir is None:
        from core.models import build_model

        config = TrainConfig(epochs=1)
        model = build_model(model_name)
        what = f"{model_name}, untrained (cost does not depend on weights)"
    else:
        from core.runs.catalogue import load_run
        from core.training import load_saved_model

        run = load_run(run_dir)
        config, model = run.config, load_saved_model(run.model_path)
        what = f"{run.config.model}, {len(run.history)} epoch(s): {run_dir}"
    images, labels, indices = training_part(raw, config)
    return Explainer(model, images, labels, indices, **options), raw, what


def latency(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    explainer, raw, what = _explainer(args.run_dir, data_dir, args.model)
    progress(f"model: {what}")
    prepare_s = explainer.prepare()
    progress(f"training features: {len(explainer.train_images):,} images in {prepare_s:.2f} s")
    started = time.perf_counter()
    explainer.explain(raw.x_test[0], int(raw.y_test[0]))
    first_s = time.perf_counter() - started
    walls, cpus, sizes = [], [], []
    for index in range(1, args.images + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        explainer.explain(raw.x_test[index], int(raw.y_test[index]))
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        sizes.append(explainer.last_batch_size)
    revisits = []
    for index in range(1, 51):
        wall = time.perf_counter()
        explainer.explain(raw.x_test[index], int(raw.y_test[index]))
        revisits.append((time.perf_counter() - wall) * 1000)
    wall_ms, cpu_ms = summarize(walls), summarize(cpus)
    progress(
        f"explain: p50 {wall_ms['p50']:.1f} ms, p99 {wall_ms['p99']:.1f} ms over "
        f"{args.images} images ({np.mean(sizes):.0f} images per call, at most "
        f"{explainer.variants})"
    )
    return {
        "benchmark": "explain",
        "model": what,
        "images": args.images,
        "images_per_call": summarize(sizes),
        "images_per_call_at_most": explainer.variants,
        "patch": explainer.patch,
        "stride": explainer.stride,
        "flip_averaged": explainer.flip_average,
        "training_images": len(explainer.train_images),
        "prepare_s": prepare_s,
        "first_call_ms": first_s * 1000,
        "explain_ms": wall_ms,
        "explain_process_cpu_ms": cpu_ms,
        "revisit_ms": summarize(revisits),
        "goal_ms": 200,
        "goal_met": bool(wall_ms["p99"] <= 200),
    }


def _deletion_area(explainer: Any, image: np.ndarray, order: np.ndarray, label: int) -> float:
    """Mean probability of ``label`` as the ink pixels are deleted in ``order``."""
    steps = np.linspace(0, len(order), DELETION_STEPS + 1).round().astype(int)
    batch = np.repeat(image[np.newaxis], len(steps), axis=0)
    for row, count in enumerate(steps):
        flat = batch[row].reshape(-1)
        flat[order[:count]] = 0
    return float(explainer.probabilities(batch)[:, label].mean())


def compare(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    if args.run_dir is None:
        raise SystemExit("--compare needs a trained run: --run-dir RUN")
    rng = np.random.default_rng(0)
    base, raw, what = _explainer(args.run_dir, data_dir)
    chosen = rng.choice(len(raw.y_test), size=args.images, replace=False)
    random_areas = []
    for index in chosen:
        image = raw.x_test[index]
        label = int(np.argmax(base.probabilities(image[np.newaxis])[0]))
        ink = np.flatnonzero(image.reshape(-1))
        random_areas.append(_deletion_area(base, image, rng.permutation(ink), label))
    results: dict[str, Any] = {"random order": {"deletion_auc": float(np.mean(random_areas))}}
    per_image: dict[tuple[int, int], np.ndarray] = {}
    progress(f"random order: deletion AUC {results['random order']['deletion_auc']:.4f}")
    for patch, stride in COMPARED:
        explainer, _, _ = _explainer(args.run_dir, data_dir, patch=patch, stride=stride)
        areas, seconds = [], []
        for index in chosen:
            image = raw.x_test[index]
            started = time.perf_counter()
            explanation = explainer.explain(image)
            seconds.append(time.perf_counter() - started)
            ink = np.flatnonzero(image.reshape(-1))
            # Most evidence first; ties (flat stretches of a blocky map) in random order.
            jitter = rng.random(ink.size) * 1e-9
            order = ink[np.argsort(-(explanation.evidence.reshape(-1)[ink] + jitter))]
            areas.append(_deletion_area(explainer, image, order, explanation.predicted))
        name = f"patch {patch}, stride {stride}"
        per_image[(patch, stride)] = np.array(areas)
        results[name] = {
            "patch": patch,
            "stride": stride,
            "images_per_call": explainer.variants,
            "deletion_auc": float(np.mean(areas)),
            "deletion_auc_sem": float(np.std(areas) / np.sqrt(len(areas))),
            "explain_ms_p50": float(np.median(seconds[1:]) * 1000),
        }
        progress(
            f"{name}: deletion AUC {results[name]['deletion_auc']:.4f}, "
            f"{results[name]['explain_ms_p50']:.0f} ms"
        )
    # The same images under every setting: the paired difference from the default is far
    # more precise than the spread of either score over images.
    from core.explain import PATCH, STRIDE

    default = per_image.get((PATCH, STRIDE))
    if default is not None:
        for (patch, stride), areas in per_image.items():
            difference = areas - default
            results[f"patch {patch}, stride {stride}"]["minus_default"] = {
                "mean": float(difference.mean()),
                "sem": float(difference.std(ddof=1) / np.sqrt(difference.size)),
            }
    return {
        "benchmark": "explain-occlusion",
        "default": {"patch": PATCH, "stride": STRIDE},
        "model": what,
        "images": args.images,
        "steps": DELETION_STEPS,
        "lower_is_better": "deletion_auc: mean P(predicted) while the ink is deleted",
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__)
    parser.add_argument("--run-dir", type=Path, help="a saved run (default: an untrained model)")
    parser.add_argument("--model", default="seed", help="the untrained preset (default: seed)")
    parser.add_argument("--images", type=int, default=200, help="test images timed (>= 100)")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    parser.add_argument("--compare", action="store_true", help="score patch sizes and strides")
    parser.add_argument("--out", type=Path, help="result file (default: bench/results/...)")
    args = parser.parse_args(argv)
    data_dir = find_data_dir(args.data_dir)
    if data_dir is None:
        print("python -m bench.explain: needs the real Fashion-MNIST files", file=sys.stderr)
        return 2
    from core.backend import select_backend
    from core.logs import quiet_tensorflow_env

    quiet_tensorflow_env()
    select_backend(args.backend)
    payload = compare(args, data_dir) if args.compare else latency(args, data_dir)
    default_name = payload["benchmark"] if args.model == "seed" else f"explain-{args.model}"
    out = args.out or RESULTS / f"{default_name}.json"
    from core.files import write_json_file

    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_file(out, _record(sys.argv[1:] if argv is None else argv, payload))
    progress(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
