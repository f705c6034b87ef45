"""Test accuracy of each model preset on the real data, three seeds each.

Every seed is one ``fmnist-tui train --epochs N --model M --seed S`` in a fresh process, batch
size 32, the default split (the last 20% of the training set for validation) and the whole
10,000-image test set. The results come from the run folder the command writes
(``history.json``, ``metrics.json``); beside them the harness writes ``bench-run.json``: the
command's arguments and the git commit (plus a hash of any uncommitted changes) of the code
that trained it.

With ``--reuse-runs DIR`` a finished run folder in DIR (or one level below) stands in for a
new run only when the harness would train exactly that run today: every setting of its
``config.json`` (model, epochs, batch size, seed, validation split, limits, early-stopping
patience, data folder) equal to the benchmark's, the same ``fmnist-tui train`` arguments and
the same code version in its ``bench-run.json``. A folder without that record was not trained
by the harness and is never reused. The result file lists every candidate and why it was
rejected.
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
    code_version,
    data_dir_for,
    median,
    now_iso,
    progress,
    run_child,
    write_result,
)
from core.config import TrainConfig, default_batch_size
from core.files import write_json_file
from core.runs.catalogue import parse_started

SEEDS = (0, 1, 2)


@dataclass(frozen=True, slots=True)
class Preset:
    benchmark: str
    model: str
    epochs: int
    seed_notebook: float | None
    """What the seed notebook reported for this model, for comparison."""
    goal_accuracy: float | None = None
    goal_params: int | None = None
    augment: bool = False
    """Train with ``--augment`` (random horizontal flips), as a user repeating the seed
    author's own remedy for overfitting would."""

    @property
    def batch_size(self) -> int:
        """The preset's own batch size, as a new run uses it (32; ``improved``: 128)."""
        return default_batch_size(self.model)

    @property
    def label(self) -> str:
        return f"{self.model} --augment" if self.augment else self.model


PRESETS = {
    preset.benchmark: preset
    for preset in (
        Preset("accuracy-seed", "seed", 10, 0.9095),
        Preset("accuracy-seed-augment", "seed", 10, None, augment=True),
        Preset("accuracy-seed-deep", "seed-deep", 10, 0.9041),
        Preset("accuracy-improved", "improved", 15, None, goal_accuracy=0.940, goal_params=400_000),
    )
}
QUICK_EPOCHS = 1
QUICK_LIMITS = {"limit_train": 2000, "limit_test": 500}
PROVENANCE_FILE = "bench-run.json"
"""Written by the harness into each run folder it trains: how, and by which code."""
RUNS_DIR_ARGUMENT = "<runs-dir>"
"""Stands for the ``--runs-dir`` value in a recorded command, which differs every time."""


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
        "test_accuracy_single_view": (
            float(metrics["test_accuracy_single_view"])
            if "test_accuracy_single_view" in metrics
            else None
        ),
        "test_loss": float(metrics["test_loss"]),
        "trainable_params": int(metrics["trainable_params"]),
        "epochs": epochs,
        "epoch_seconds": [float(e["seconds"]) for e in epochs],
        "trained_by": _provenance(folder),
    }


def _provenance(folder: Path) -> dict[str, Any] | None:
    """The harness's record of how it trained ``folder`` (None: not trained by the harness)."""
    try:
        return _load_json(folder / PROVENANCE_FILE)
    except (OSError, ValueError, BenchError):
        return None


def _started(folder: Path) -> str | None:
    started = parse_started(folder.name)
    return started.isoformat() if started else None


def _expected_config(preset: Preset, seed: int, data_dir: Path, quick: bool) -> dict[str, Any]:
    """The ``config.json`` that :func:`_train` produces for this seed, every field of it."""
    limits = QUICK_LIMITS if quick else {}
    config = TrainConfig(
        epochs=QUICK_EPOCHS if quick else preset.epochs,
        model=preset.model,
        batch_size=preset.batch_size,
        augment=preset.augment,
        val_split=0.2,
        seed=seed,
        data_dir=str(data_dir),
        **limits,
    )
    # A run records the training settings it used: the model's own here.
    return config.with_changes(hyperparameters=config.training).to_dict()


def _train_arguments(preset: Preset, seed: int, data_dir: Path, quick: bool) -> list[str]:
    """``fmnist-tui train``'s arguments, the runs folder written as :data:`RUNS_DIR_ARGUMENT`."""
    epochs = QUICK_EPOCHS if quick else preset.epochs
    arguments = [
        "train",
        "--epochs", str(epochs), "--model", preset.model, "--seed", str(seed),
        "--batch-size", str(preset.batch_size), "--data-dir", str(data_dir),
        "--runs-dir", RUNS_DIR_ARGUMENT, "--no-export",
    ]  # fmt: skip
    if preset.augment:
        arguments.append("--augment")
    if quick:
        arguments += ["--limit-train", str(QUICK_LIMITS["limit_train"])]
        arguments += ["--limit-test", str(QUICK_LIMITS["limit_test"])]
    return arguments


def _why_not_reusable(
    folder: Path, config: dict[str, Any], arguments: list[str], code: dict[str, Any]
) -> list[str]:
    """Every reason the run in ``folder`` is not the one the harness would train now."""
    try:
        found = _load_json(folder / "config.json")
        history = _load_json(folder / "history.json")
    except (OSError, ValueError, BenchError) as error:
        return [f"unreadable: {error}"]
    reasons: list[str] = []
    for key, value in config.items():
        if key not in found:
            reasons.append(f"config.json has no {key!r} (the benchmark's: {value!r})")
        elif found[key] != value:
            reasons.append(f"{key} is {found[key]!r}, the benchmark's {value!r}")
    reasons += [
        f"config.json has {key!r}, unknown to this code" for key in found if key not in config
    ]
    epochs = len(history.get("epochs", []))
    if history.get("status") != "finished" or epochs != config["epochs"]:
        reasons.append(f"not finished: status {history.get('status')!r}, {epochs} epoch(s)")
    if not (folder / "metrics.json").is_file():
        reasons.append("no metrics.json (no test evaluation)")
    record = _provenance(folder)
    if record is None:
        reasons.append(f"no {PROVENANCE_FILE}: nothing records which code and command trained it")
        return reasons
    if record.get("arguments") != arguments:
        reasons.append(
            f"trained with {record.get('arguments')!r}, the benchmark runs {arguments!r}"
        )
    trained_by = record.get("code") or {}
    if code.get("commit") is None:
        reasons.append("the code version of this checkout is unknown (no git)")
    elif trained_by.get("commit") != code["commit"]:
        reasons.append(
            f"trained by commit {trained_by.get('commit')}, this code is {code['commit']}"
        )
    elif trained_by.get("diff_sha256") != code.get("diff_sha256"):
        reasons.append(
            "uncommitted changes differ (SHA-256 of `git diff HEAD`): the run's "
            f"{trained_by.get('diff_sha256') or 'none'}, this checkout's "
            f"{code.get('diff_sha256') or 'none'}"
        )
    return reasons


def _candidates(root: Path) -> list[Path]:
    """Run folders in ``root`` and one level below (a harness work folder holds runs-*/RUN)."""
    return sorted(
        {p.parent for pattern in ("*/config.json", "*/*/config.json") for p in root.glob(pattern)}
    )


def find_reusable(
    root: Path, config: dict[str, Any], arguments: list[str], code: dict[str, Any]
) -> tuple[Path | None, list[dict[str, Any]]]:
    """The newest run in ``root`` that the harness would train now, and why each other is not.

    ``config``, ``arguments`` and ``code`` are what the harness would train with: the whole
    ``config.json``, ``fmnist-tui train``'s arguments and :func:`bench.common.code_version`.
    """
    matches: list[Path] = []
    rejected: list[dict[str, Any]] = []
    for folder in _candidates(root):
        reasons = _why_not_reusable(folder, config, arguments, code)
        if reasons:
            rejected.append({"run_dir": str(folder), "reasons": reasons})
        else:
            matches.append(folder)
    chosen = max(matches, key=lambda p: p.name) if matches else None
    rejected += [
        {"run_dir": str(folder), "reasons": [f"a newer match was taken: {chosen}"]}
        for folder in matches
        if folder != chosen
    ]
    return chosen, rejected


def _train(settings: Settings, preset: Preset, seed: int, data_dir: Path) -> Path:
    runs_dir = settings.work_dir / f"runs-{preset.benchmark}-s{seed}"
    arguments = _train_arguments(preset, seed, data_dir, settings.quick)
    argv = [
        *cli_command(),
        *(str(runs_dir) if word == RUNS_DIR_ARGUMENT else word for word in arguments),
    ]
    # Read before the child starts: the code it imports is the code checked out now.
    code = code_version()
    started = now_iso()
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
    record = {"arguments": arguments, "code": code, "started": started, "command": argv}
    write_json_file(folders[0] / PROVENANCE_FILE, record)
    return folders[0]


def run(settings: Settings, name: str) -> dict[str, Any]:
    preset = PRESETS[name]
    data_dir, data = data_dir_for(settings, name)
    seeds = SEEDS[:1] if settings.quick else SEEDS
    per_seed: list[dict[str, Any]] = []
    reuse: dict[str, Any] | None = None
    if settings.reuse_runs is not None and not settings.quick:
        reuse = {"dir": str(settings.reuse_runs), "code": code_version(), "seeds": {}}
    for seed in seeds:
        reused = None
        if reuse is not None:
            reused, rejected = find_reusable(
                settings.reuse_runs or Path(),
                _expected_config(preset, seed, data_dir, settings.quick),
                _train_arguments(preset, seed, data_dir, settings.quick),
                reuse["code"],
            )
            reuse["seeds"][str(seed)] = {
                "reused": str(reused) if reused else None,
                "rejected": rejected,
            }
            progress(f"{name}: seed {seed}: {len(rejected)} run folder(s) not reusable")
        if reused is not None:
            progress(f"{name}: seed {seed}: reusing {reused}")
            record = {**_read_run(reused), "source": "reused"}
        else:
            progress(f"{name}: seed {seed}: training {preset.label}")
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
        "test_accuracy_single_view_mean": (
            sum(single_views) / len(single_views)
            if (single_views := [r["test_accuracy_single_view"] for r in per_seed])
            and None not in single_views
            else None
        ),
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
            "batch_size": preset.batch_size,
            "augment": preset.augment,
            "val_split": 0.2,
            "data": data,
            **(QUICK_LIMITS if settings.quick else {}),
        },
        "summary": summary,
        "curves_png": plot.name,
        "runs": [{k: v for k, v in r.items() if k != "config"} for r in per_seed],
        **({"reuse": reuse} if reuse is not None else {}),
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
    title = f"{preset.label}: {len(runs)} seed(s), mean test accuracy {mean:.4f}"
    if preset.seed_notebook is not None:
        title += f" (seed notebook: {preset.seed_notebook:.4f})"
    figure.suptitle(title, fontweight="bold")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png", facecolor="white")
    tmp.replace(path)
