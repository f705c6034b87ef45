"""Test accuracy of each model preset on the real data, three seeds each.

Every seed is one ``fmnist-tui train --epochs N --model M --seed S`` in a fresh process, batch
size 32, the default split (the last 20% of the training set for validation) and the whole
10,000-image test set. The results come from the run folder the command writes
(``history.json``, ``metrics.json``). With ``--reuse-runs DIR`` a finished run folder in DIR
with exactly the same settings stands in for a new run, and the result file says which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    BenchError,
    Settings,
    child_env,
    cli_command,
    data_dir_for,
    median,
    progress,
    run_child,
    write_result,
)
from core.runs import parse_started

SEEDS = (0, 1, 2)
BATCH_SIZE = 32


@dataclass(frozen=True, slots=True)
class Preset:
    benchmark: str
    model: str
    epochs: int
    seed_notebook: float | None
    """What the seed notebook reported for this model, for comparison."""
    goal_accuracy: float | None = None
    goal_params: int | None = None


PRESETS = {
    preset.benchmark: preset
    for preset in (
        Preset("accuracy-seed", "seed", 10, 0.9095),
        Preset("accuracy-seed-deep", "seed-deep", 10, 0.9041),
        Preset("accuracy-improved", "improved", 15, None, goal_accuracy=0.940, goal_params=400_000),
    )
}
QUICK_EPOCHS = 1
QUICK_LIMITS = {"limit_train": 2000, "limit_test": 500}


def _load_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BenchError(f"{path}: not a JSON object")
    return data


def _read_run(folder: Path) -> dict[str, Any]:
    history = _load_json(folder / "history.json")
    metrics = _load_json(folder / "metrics.json")
    config = _load_json(folder / "config.json")
    epochs = history["epochs"]
    return {
        "run_dir": str(folder),
        "started": _started(folder),
        "status": history.get("status"),
        "device": history.get("device"),
        "data_source": history.get("data_source"),
        "config": config,
        "test_accuracy": float(metrics["test_accuracy"]),
        "test_loss": float(metrics["test_loss"]),
        "trainable_params": int(metrics["trainable_params"]),
        "epochs": epochs,
        "epoch_seconds": [float(e["seconds"]) for e in epochs],
    }


def _started(folder: Path) -> str | None:
    started = parse_started(folder.name)
    return started.isoformat() if started else None


def _matching_run(root: Path, preset: Preset, seed: int) -> Path | None:
    """The newest finished run in ``root`` trained exactly as this benchmark would."""
    wanted = {
        "model": preset.model,
        "epochs": preset.epochs,
        "batch_size": BATCH_SIZE,
        "val_split": 0.2,
        "seed": seed,
        "limit_train": None,
        "limit_test": None,
    }
    matches: list[Path] = []
    for config_path in root.glob("*/config.json"):
        folder = config_path.parent
        try:
            config = _load_json(config_path)
            history = _load_json(folder / "history.json")
        except (OSError, ValueError, BenchError):
            continue
        if any(config.get(key) != value for key, value in wanted.items()):
            continue
        if history.get("status") != "finished" or len(history.get("epochs", [])) != preset.epochs:
            continue
        if (folder / "metrics.json").is_file():
            matches.append(folder)
    return max(matches, key=lambda p: p.name) if matches else None


def _train(settings: Settings, preset: Preset, seed: int, data_dir: Path) -> Path:
    runs_dir = settings.work_dir / f"runs-{preset.benchmark}-s{seed}"
    epochs = QUICK_EPOCHS if settings.quick else preset.epochs
    argv = [
        *cli_command(), "train",
        "--epochs", str(epochs), "--model", preset.model, "--seed", str(seed),
        "--batch-size", str(BATCH_SIZE), "--data-dir", str(data_dir),
        "--runs-dir", str(runs_dir), "--no-export",
    ]  # fmt: skip
    if settings.quick:
        argv += ["--limit-train", str(QUICK_LIMITS["limit_train"])]
        argv += ["--limit-test", str(QUICK_LIMITS["limit_test"])]
    result = run_child(
        argv,
        env=child_env(settings.work_dir),
        timeout=4 * 3600,
        log=settings.work_dir / f"{preset.benchmark}-s{seed}.log",
    )
    if result.returncode != 0:
        raise BenchError(
            f"{preset.model} seed {seed}: fmnist-tui train exited with {result.returncode}: "
            f"{result.stderr.strip()[-300:]}"
        )
    folders = [p for p in runs_dir.iterdir() if (p / "metrics.json").is_file()]
    if len(folders) != 1:
        raise BenchError(f"expected one finished run in {runs_dir}, found {len(folders)}")
    return folders[0]


def run(settings: Settings, name: str) -> dict[str, Any]:
    preset = PRESETS[name]
    data_dir, data = data_dir_for(settings, name)
    seeds = SEEDS[:1] if settings.quick else SEEDS
    per_seed: list[dict[str, Any]] = []
    for seed in seeds:
        reused = None
        if settings.reuse_runs is not None and not settings.quick:
            reused = _matching_run(settings.reuse_runs, preset, seed)
        if reused is not None:
            progress(f"{name}: seed {seed}: reusing {reused}")
            record = {**_read_run(reused), "source": "reused"}
        else:
            progress(f"{name}: seed {seed}: training {preset.model}")
            record = {**_read_run(_train(settings, preset, seed, data_dir)), "source": "trained"}
        record["seed"] = seed
        progress(f"{name}: seed {seed}: test accuracy {record['test_accuracy']:.4f}")
        per_seed.append(record)

    accuracies = [r["test_accuracy"] for r in per_seed]
    epoch_seconds = [s for r in per_seed for s in r["epoch_seconds"]]
    later_epochs = [s for r in per_seed for s in r["epoch_seconds"][1:]]
    params = per_seed[0]["trainable_params"]
    epochs = len(per_seed[0]["epochs"])
    mean = sum(accuracies) / len(accuracies)
    summary: dict[str, Any] = {
        "model": preset.model,
        "epochs": epochs,
        "seeds": [r["seed"] for r in per_seed],
        "test_accuracy_mean": mean,
        "test_accuracy_min": min(accuracies),
        "test_accuracy_max": max(accuracies),
        "trainable_params": params,
        "epoch_seconds_mean": sum(epoch_seconds) / len(epoch_seconds),
        "epoch_seconds_median": median(epoch_seconds),
        "epoch_seconds_after_first_median": median(later_epochs) if later_epochs else None,
        "seed_notebook_accuracy": preset.seed_notebook,
        "sources": sorted({r["source"] for r in per_seed}),
    }
    if preset.goal_accuracy is not None:
        summary["goal"] = {
            "test_accuracy_mean_at_least": preset.goal_accuracy,
            "trainable_params_at_most": preset.goal_params,
            "epochs_at_most": preset.epochs,
            "met": (
                mean >= preset.goal_accuracy
                and params <= (preset.goal_params or params)
                and epochs <= preset.epochs
                and len(per_seed) == len(SEEDS)
            ),
        }
    plot = settings.results_dir / f"{name.replace('-', '_')}.png"
    _plot(per_seed, preset, mean, plot)
    payload = {
        "config": {
            "model": preset.model,
            "epochs": QUICK_EPOCHS if settings.quick else preset.epochs,
            "batch_size": BATCH_SIZE,
            "val_split": 0.2,
            "data": data,
            **(QUICK_LIMITS if settings.quick else {}),
        },
        "summary": summary,
        "curves_png": plot.name,
        "runs": [{k: v for k, v in r.items() if k != "config"} for r in per_seed],
    }
    write_result(settings, name, payload)
    return payload


def _plot(runs: list[dict[str, Any]], preset: Preset, mean: float, path: Path) -> None:
    """Accuracy and loss by epoch, train (solid) and validation (dashed), one colour a seed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(12, 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b"]
    for index, run in enumerate(runs):
        colour = colours[index % len(colours)]
        epochs = [e["epoch"] for e in run["epochs"]]
        label = f"seed {run['seed']} (test {run['test_accuracy']:.4f})"
        for axes, key in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
            axes.plot(
                epochs,
                [e[key] for e in run["epochs"]],
                color=colour,
                marker="o",
                markersize=3,
                label=f"train, {label}",
            )
            axes.plot(
                epochs,
                [e[f"val_{key}"] for e in run["epochs"]],
                color=colour,
                linestyle="--",
                marker="s",
                markersize=3,
                label=f"validation, {label}",
            )
    for axes, key in ((accuracy_axes, "Accuracy"), (loss_axes, "Loss")):
        axes.set_title(key)
        axes.set_xlabel("Epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
    accuracy_axes.legend(fontsize=7, loc="lower right")
    title = f"{preset.model}: {len(runs)} seed(s), mean test accuracy {mean:.4f}"
    if preset.seed_notebook is not None:
        title += f" (seed notebook: {preset.seed_notebook:.4f})"
    figure.suptitle(title, fontweight="bold")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png", facecolor="white")
    tmp.replace(path)
