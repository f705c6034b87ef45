"""Time-to-accuracy table rows from saved run folders (``fmnist-tui train`` output).

For each preset: CPU seconds (the sum of epoch seconds, validation included) until the
validation accuracy first reaches 0.90, 0.92, 0.93 and 0.94 (median over seeds; "–" when a
seed never does, with how many did), median seconds per epoch, whole-run seconds, final test
accuracy (mean, min, max over seeds), trainable params and MFLOP per image.

``python -m bench.time_to_accuracy SOURCE... [--json OUT]``: each SOURCE is a run folder or a
``bench/results/accuracy-<preset>.json`` file (its runs); ``LABEL=SOURCE`` files the runs under
LABEL instead of their preset's name (e.g. ``improved (old)=bench/results/accuracy-improved.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

THRESHOLDS = (0.90, 0.92, 0.93, 0.94)


def seconds_to_reach(epochs: Sequence[dict[str, Any]], threshold: float) -> float | None:
    """Cumulative epoch seconds at the end of the first epoch whose ``val_accuracy`` reaches
    ``threshold``; None if none does."""
    total = 0.0
    for epoch in epochs:
        total += float(epoch["seconds"])
        if float(epoch.get("val_accuracy") or 0.0) >= threshold:
            return total
    return None


def load_runs(source: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The runs in one SOURCE argument (see the module docstring) and its label, if any."""
    label, _, path_text = source.rpartition("=")
    path = Path(path_text)
    if path.is_file():
        data = json.loads(path.read_text())
        runs = [
            {
                "config": data["config"],
                "epochs": run["epochs"],
                "metrics": {
                    "test_accuracy": run["test_accuracy"],
                    "trainable_params": run["trainable_params"],
                },
            }
            for run in data["runs"]
            if run["status"] == "finished"
        ]
    else:
        runs = [
            {
                "config": json.loads((path / "config.json").read_text()),
                "epochs": json.loads((path / "history.json").read_text())["epochs"],
                "metrics": json.loads((path / "metrics.json").read_text()),
            }
        ]
    return label or None, runs


def summarize_runs(sources: Sequence[str]) -> list[dict[str, Any]]:
    """One row per preset (or label) over the finished runs in ``sources``."""
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for source in sources:
        label, runs = load_runs(source)
        for run in runs:
            by_model[label or run["config"]["model"]].append(run)
    rows = []
    for model, runs in by_model.items():
        reach: dict[str, Any] = {}
        for threshold in THRESHOLDS:
            times = [seconds_to_reach(r["epochs"], threshold) for r in runs]
            hit = [t for t in times if t is not None]
            reach[f"{threshold:.2f}"] = {
                "median_s": round(statistics.median(hit), 1) if hit else None,
                "runs_reaching": len(hit),
            }
        tests = [float(r["metrics"]["test_accuracy"]) for r in runs]
        rows.append(
            {
                "model": model,
                "preset": runs[0]["config"]["model"],
                "runs": len(runs),
                "epochs": sorted({len(r["epochs"]) for r in runs}),
                "batch_size": sorted({r["config"]["batch_size"] for r in runs}),
                "seconds_to_val_accuracy": reach,
                "s_per_epoch_median": round(
                    statistics.median(float(e["seconds"]) for r in runs for e in r["epochs"]), 1
                ),
                "run_seconds_median": round(
                    statistics.median(sum(float(e["seconds"]) for e in r["epochs"]) for r in runs),
                    1,
                ),
                "test_accuracy_mean": round(statistics.fmean(tests), 4),
                "test_accuracy_min": min(tests),
                "test_accuracy_max": max(tests),
                "trainable_params": runs[0]["metrics"].get("trainable_params"),
            }
        )
    return rows


def add_mflops(rows: list[dict[str, Any]]) -> None:
    """Fill in each preset's forward MFLOP per image (builds the models: imports Keras)."""
    from bench.flops import count_mflops
    from core.models import build_model

    for row in rows:
        if row["model"] != row["preset"]:
            continue  # a labelled row (an older version of a preset): its model is not built
        row["mflop_per_image"] = round(count_mflops(build_model(row["preset"])), 1)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The BENCHMARKS.md table."""
    head = (
        "| preset | batch | epochs | s to val 0.90 | 0.92 | 0.93 | 0.94 | s/epoch | whole run s"
        " | mean test acc (min-max) | params | MFLOP/img |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n"
    )

    def reach(row: dict[str, Any], key: str) -> str:
        cell = row["seconds_to_val_accuracy"][key]
        if cell["median_s"] is None:
            return "never"
        partial = (
            ""
            if cell["runs_reaching"] == row["runs"]
            else f" ({cell['runs_reaching']}/{row['runs']})"
        )
        return f"{cell['median_s']:.0f}{partial}"

    lines = [
        f"| {r['model']} | {'/'.join(map(str, r['batch_size']))} | "
        f"{'/'.join(map(str, r['epochs']))} | "
        + " | ".join(reach(r, f"{t:.2f}") for t in THRESHOLDS)
        + f" | {r['s_per_epoch_median']:.1f} | {r['run_seconds_median']:.0f} | "
        f"{r['test_accuracy_mean']:.4f} ({r['test_accuracy_min']:.4f}-{r['test_accuracy_max']:.4f})"
        f" | {r['trainable_params']:,} | {r.get('mflop_per_image', '?')} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.time_to_accuracy")
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-mflops", action="store_true", help="do not import Keras")
    args = parser.parse_args(argv)
    rows = summarize_runs(args.sources)
    if not args.no_mflops:
        add_mflops(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown(rows), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
