"""The seed written as a model file (``examples/seed.py``) against the seed preset, side by side.

Two benchmarks, each one invocation that interleaves the two so that the machine's load falls
on both alike:

- ``accuracy-seed-file``: 10 epochs at seeds 0, 1 and 2 through ``fmnist-tui train``, in the
  order preset seed 0, file seed 0, preset seed 1, file seed 1, ... (each a fresh process,
  trained as ``bench.accuracy`` trains a preset). The promise: the file's mean test accuracy
  lies within the preset's seed spread. Same backend, seed and layers: the two runs of a seed
  should be the same run, so each pair's histories and test results are compared exactly too.
- ``cost-seed-file``: epoch times of the two on the real data, in one fresh process
  (``bench.model_file_epochs``) that trains both side by side, batch size 32, seed 0, the
  same compile settings and batches per call: a warm-up epoch of each (it traces the train
  step; reported apart), then 8 rounds (``--rounds``) of one epoch each in the order A B B A
  (A the preset, B the file), two epochs of each a round. The promise: the median of the
  per-round ratios file/preset of the mean epoch time is at most 1.03. Whatever else the
  shared machine runs falls on both models within the same minute; each epoch's CPU seconds
  are reported beside its wall time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any

from bench import accuracy
from bench.common import (
    ROOT,
    BenchError,
    Settings,
    child_env,
    data_dir_for,
    median,
    progress,
    python,
    run_child,
    write_result,
)

MODEL_FILE = ROOT / "examples" / "seed.py"
ACCURACY_NAME = "accuracy-seed-file"
COST_NAME = "cost-seed-file"
PRESET = accuracy.Preset(f"{ACCURACY_NAME}-preset", "seed", 10, 0.9095)
FILE = accuracy.Preset(f"{ACCURACY_NAME}-file", str(MODEL_FILE), 10, None)
COMPARED = ("loss", "accuracy", "val_loss", "val_accuracy")
"""The per-epoch metrics a pair of runs is compared on (the epochs' seconds differ, of course)."""
KINDS = ("preset", "file")
COST_ROUNDS = 8
MAX_RATIO = 1.03
BATCH_SIZE = 32
STEPS_PER_EXECUTION = 16
"""Batches per call, pinned alike for both: what training picks for the seed on a 2-core CPU
(0.15 s a call), without the mid-run retrace its choice from a noisy first epoch can bring."""


def _load() -> dict[str, Any]:
    """How busy the shared machine is now: ``uptime``'s load averages."""
    return {"load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def _tree() -> dict[str, Any]:
    """The checkout beyond ``code`` (which covers tracked files only): whether it had
    uncommitted changes, how many files are untracked, and the SHA-256 of the files the
    comparison rests on (the model file and the code that reads it may be untracked)."""
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
    ).stdout.splitlines()
    watched = ("examples/seed.py", "core/model_files.py", "core/presets.py", "core/models.py")
    return {
        "uncommitted_changes": bool(status),
        "modified_files": sum(not line.startswith("??") for line in status),
        "untracked_files": sum(line.startswith("??") for line in status),
        "sha256": {
            name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest() for name in watched
        },
    }


def _same_run(preset: dict[str, Any], file: dict[str, Any]) -> dict[str, Any]:
    """How far apart two runs of one seed are: exactly equal, or the largest differences."""
    pairs = list(zip(preset["epochs"], file["epochs"], strict=True))
    differences = {
        key: max(abs(float(a[key]) - float(b[key])) for a, b in pairs) for key in COMPARED
    }
    differences["test_accuracy"] = abs(preset["test_accuracy"] - file["test_accuracy"])
    differences["test_loss"] = abs(preset["test_loss"] - file["test_loss"])
    return {
        "bit_identical": all(value == 0.0 for value in differences.values()),
        "max_abs_difference": differences,
        "same_params": preset["trainable_params"] == file["trainable_params"],
    }


def _spread(records: list[dict[str, Any]]) -> dict[str, Any]:
    accuracies = [r["test_accuracy"] for r in records]
    return {
        "test_accuracy_mean": sum(accuracies) / len(accuracies),
        "test_accuracy_min": min(accuracies),
        "test_accuracy_max": max(accuracies),
        "test_accuracies": accuracies,
        "trainable_params": records[0]["trainable_params"],
        "epoch_seconds_after_first_median": (
            median(later)
            if (later := [s for r in records for s in r["epoch_seconds"][1:]])
            else None
        ),
    }


def run_accuracy(settings: Settings) -> dict[str, Any]:
    """Train the preset and the file at each seed, interleaved; compare their test accuracy."""
    data_dir, data = data_dir_for(settings, ACCURACY_NAME)
    seeds = accuracy.SEEDS[:1] if settings.quick else accuracy.SEEDS
    load_before = _load()
    runs: dict[str, list[dict[str, Any]]] = {"preset": [], "file": []}
    for seed in seeds:
        for kind, model in (("preset", PRESET), ("file", FILE)):
            progress(f"{ACCURACY_NAME}: seed {seed}: training {kind} ({model.model})")
            record = accuracy._read_run(accuracy._train(settings, model, seed, data_dir))
            record["seed"] = seed
            progress(f"{ACCURACY_NAME}: {kind} seed {seed}: test {record['test_accuracy']:.4f}")
            runs[kind].append(record)
    preset, file = _spread(runs["preset"]), _spread(runs["file"])
    pairs = {
        str(a["seed"]): _same_run(a, b) for a, b in zip(runs["preset"], runs["file"], strict=True)
    }
    summary = {
        "preset": preset,
        "file": file,
        "file_mean_minus_preset_mean": file["test_accuracy_mean"] - preset["test_accuracy_mean"],
        "file_mean_within_preset_spread": (
            preset["test_accuracy_min"] <= file["test_accuracy_mean"] <= preset["test_accuracy_max"]
        ),
        "pairs": pairs,
        "all_pairs_bit_identical": all(p["bit_identical"] for p in pairs.values()),
    }
    payload = {
        "config": {
            "preset": PRESET.model,
            "model_file": str(MODEL_FILE.relative_to(ROOT)),
            "epochs": accuracy.QUICK_EPOCHS if settings.quick else PRESET.epochs,
            "batch_size": PRESET.batch_size,
            "seeds": list(seeds),
            "order": "preset seed 0, file seed 0, preset seed 1, file seed 1, ...",
            "data": data,
            **(accuracy.QUICK_LIMITS if settings.quick else {}),
        },
        "tree": _tree(),
        "load_before": load_before,
        "load_after": _load(),
        "summary": summary,
        "runs": [
            {"model": kind, **{k: v for k, v in r.items() if k != "config"}}
            for kind in ("preset", "file")
            for r in runs[kind]
        ],
    }
    write_result(settings, ACCURACY_NAME, payload)
    return payload


def _steady(epochs: list[dict[str, float]], key: str) -> float:
    return sum(e[key] for e in epochs) / len(epochs)


def run_cost(settings: Settings) -> dict[str, Any]:
    """Time epochs of the preset and the file in A B, B A rounds; the ratio file/preset."""
    data_dir, data = data_dir_for(settings, COST_NAME)
    rounds = settings.rounds or (1 if settings.quick else COST_ROUNDS)
    out = settings.work_dir / f"{COST_NAME}.json"
    argv = [
        python(), "-m", "bench.model_file_epochs", str(out), str(data_dir), str(rounds),
        str(STEPS_PER_EXECUTION), *(["2000"] if settings.quick else []),
    ]  # fmt: skip
    load_before = _load()
    progress(f"{COST_NAME}: {rounds} rounds of preset, file, file, preset, in one process")
    result = run_child(
        argv, env=child_env(settings.work_dir), timeout=4 * 3600,
        log=settings.work_dir / f"{COST_NAME}.log",
    )  # fmt: skip
    if result.returncode != 0 or not out.is_file():
        raise BenchError(f"{COST_NAME}: the child exited with {result.returncode}")
    child = json.loads(out.read_text(encoding="utf-8"))
    by_round: list[dict[str, Any]] = []
    for index, measured in enumerate(child["rounds"]):
        epochs = measured["epochs"]
        wall = {kind: _steady(epochs[kind], "seconds") for kind in KINDS}
        cpu = {kind: _steady(epochs[kind], "cpu_s") for kind in KINDS}
        row = {
            "round": index + 1,
            "order": measured["order"],
            "epoch_seconds": {kind: [e["seconds"] for e in epochs[kind]] for kind in KINDS},
            "epoch_cpu_seconds": {kind: [e["cpu_s"] for e in epochs[kind]] for kind in KINDS},
            "epoch_seconds_mean": wall,
            "epoch_cpu_seconds_mean": cpu,
            "ratio_file_preset": wall["file"] / wall["preset"],
            "cpu_ratio_file_preset": cpu["file"] / cpu["preset"],
        }
        progress(
            f"{COST_NAME}: round {index + 1}: an epoch took {wall['preset']:.2f} s "
            f"({cpu['preset']:.1f} CPU s) for the preset, {wall['file']:.2f} s "
            f"({cpu['file']:.1f} CPU s) for the file: ratio {row['ratio_file_preset']:.3f} "
            f"(CPU {row['cpu_ratio_file_preset']:.3f})"
        )
        by_round.append(row)
    ratio = median([r["ratio_file_preset"] for r in by_round])
    warmup = child["warmup"]
    summary = {
        "ratio_file_preset_median": ratio,
        "ratios_file_preset": [r["ratio_file_preset"] for r in by_round],
        "cpu_ratio_file_preset_median": median([r["cpu_ratio_file_preset"] for r in by_round]),
        "cpu_ratios_file_preset": [r["cpu_ratio_file_preset"] for r in by_round],
        "ratio_at_most": MAX_RATIO,
        "met": ratio <= MAX_RATIO,
        "epoch_seconds_median": {
            kind: median([s for r in by_round for s in r["epoch_seconds"][kind]]) for kind in KINDS
        },
        "epoch_cpu_seconds_median": {
            kind: median([s for r in by_round for s in r["epoch_cpu_seconds"][kind]])
            for kind in KINDS
        },
        "warmup_epoch_seconds": {kind: warmup[kind]["seconds"] for kind in KINDS},
        "warmup_ratio_file_preset": warmup["file"]["seconds"] / warmup["preset"]["seconds"],
        "trainable_params": child["trainable_params"],
    }
    payload = {
        "config": {
            "preset": "seed",
            "model_file": str(MODEL_FILE.relative_to(ROOT)),
            "rounds": rounds,
            "order": "a warm-up epoch of each, then rounds of one epoch each of A B B A (A the "
            "preset, B the file): two epochs of each a round",
            "measured": "the training callback's wall seconds of each epoch, and the process's "
            "CPU seconds (all threads) from the start of the call that trained it",
            "batch_size": BATCH_SIZE,
            "seed": 0,
            "steps_per_execution": STEPS_PER_EXECUTION,
            "backend": child["backend"],
            "train_samples": child["train_samples"],
            "data": data,
            **({"limit_train": 2000} if settings.quick else {}),
        },
        "tree": _tree(),
        "load_before": load_before,
        "load_after": _load(),
        "child_wall_s": child["wall_s"],
        "summary": summary,
        "rounds": by_round,
    }
    write_result(settings, COST_NAME, payload)
    return payload
