"""The report's sections on training: overfitting, time to accuracy, the improved preset's cost
and search, model files, stop latency, sweeps and backends. Every figure comes from a result
file; each table names its machine and code (:mod:`bench.provenance`)."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench.common import ROOT
from bench.provenance import Provenance
from bench.report_cells import ACCURACY
from bench.report_cells import fmt as _fmt
from bench.report_cells import goal as _goal
from bench.report_cells import not_run as _not_run

Result = dict[str, Any]


def _label(result: Result) -> str:
    model = str(result["summary"]["model"])
    return f"{model} --augment" if result.get("config", {}).get("augment") else model


def _span(values: list[float], spec: str = ".3f") -> str:
    low, high = min(values), max(values)
    return format(low, spec) if low == high else f"{low:{spec}}–{high:{spec}}"


# --- Accuracy: overfitting and time to accuracy ---------------------------------------------


def overfitting_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    """How far each preset's training accuracy runs ahead of validation, from its curves."""
    rows: list[str] = []
    for name in ACCURACY:
        result = results.get(name)
        runs = [r for r in (result or {}).get("runs", []) if r.get("epochs")]
        if result is None or not runs:
            continue
        last = [r["epochs"][-1] for r in runs]
        gaps = [float(e["accuracy"]) - float(e["val_accuracy"]) for e in last]
        lowest = [min(r["epochs"], key=lambda e: float(e["val_loss"])) for r in runs]
        rows.append(
            f"| `{_label(result)}` | {len(runs)} | {_span(gaps)} (mean "
            f"{statistics.fmean(gaps):.3f}) | {_span([float(e['val_loss']) for e in last])} | "
            f"{_span([float(e['val_loss']) for e in lowest])} | "
            f"{_span([float(e['epoch']) for e in lowest], '.0f')} | {prov.cell(result)} |"
        )
    if not rows:
        return []
    reading = _augment_reading(results.get("accuracy-seed"), results.get("accuracy-seed-augment"))
    return [
        "### Overfitting, from the same runs",
        "",
        "Per seed, at the last epoch. Training accuracy is Keras' running figure over the "
        "epoch (on mirrored images too where the run flips); validation is measured after it.",
        "",
        "| preset | seeds | train − validation accuracy at the last epoch | validation loss "
        "at the last epoch | lowest validation loss | epoch of the lowest | measured on |",
        "|---|---:|---|---|---|---|---|",
        *rows,
        "",
        *([reading, ""] if reading else []),
    ]


def _augment_reading(plain: Result | None, flipped: Result | None) -> str | None:
    """What ``--augment`` did to the seed, from the two accuracy results."""
    if plain is None or flipped is None:
        return None

    def gap_and_lowest(result: Result) -> tuple[float, list[int]]:
        runs = [r for r in result.get("runs", []) if r.get("epochs")]
        last = [r["epochs"][-1] for r in runs]
        gap = statistics.fmean(float(e["accuracy"]) - float(e["val_accuracy"]) for e in last)
        lowest = [int(min(r["epochs"], key=lambda e: float(e["val_loss"]))["epoch"]) for r in runs]
        return gap, lowest

    (gap, low), (gap_aug, low_aug) = gap_and_lowest(plain), gap_and_lowest(flipped)
    p, f = plain["summary"], flipped["summary"]
    single = f.get("test_accuracy_single_view_mean") or f["test_accuracy_mean"]
    return (
        f"`seed --augment` against `seed`: the mean train − validation gap "
        f"{gap:.3f} → {gap_aug:.3f} ({1 - gap_aug / gap:.0%} narrower), the lowest validation "
        f"loss at epochs {min(low)}–{max(low)} → {min(low_aug)}–{max(low_aug)}; test accuracy "
        f"{f['test_accuracy_mean'] - p['test_accuracy_mean']:+.4f} with flip averaging at test "
        f"time, {single - p['test_accuracy_mean']:+.4f} on single images."
    )


def time_to_accuracy_section(
    results: dict[str, Result], results_dir: Path, prov: Provenance
) -> list[str]:
    """Seconds of training until validation accuracy first reaches each level."""
    from bench.time_to_accuracy import THRESHOLDS, summarize_runs

    lines: list[str] = []
    for name in ACCURACY:
        result = results.get(name)
        path = results_dir / f"{name}.json"
        if result is None or not path.is_file():
            continue
        rows = summarize_runs([f"{_label(result)}={path}"])
        if not rows:
            continue
        row = rows[0]

        def reach(key: str, row: dict[str, Any] = row) -> str:
            cell = row["seconds_to_val_accuracy"][key]
            if cell["median_s"] is None:
                return "never"
            some = "" if cell["runs_reaching"] == row["runs"] else f" ({cell['runs_reaching']}"
            return f"{cell['median_s']:.0f}" + (f"{some}/{row['runs']})" if some else "")

        lines.append(
            f"| `{row['model']}` | {'/'.join(map(str, row['batch_size']))} | "
            f"{'/'.join(map(str, row['epochs']))} | "
            + " | ".join(reach(f"{t:.2f}") for t in THRESHOLDS)
            + f" | {row['s_per_epoch_median']:.1f} | {row['run_seconds_median']:.0f} | "
            f"{row['test_accuracy_mean']:.4f} ({row['test_accuracy_min']:.4f}–"
            f"{row['test_accuracy_max']:.4f}) | {prov.cell(result)} |"
        )
    if not lines:
        return []
    return [
        "### Time to accuracy",
        "",
        "Seconds of training (the sum of the epochs' seconds, validation included) until the "
        "validation accuracy first reaches each level, median over the seeds that do "
        '("(1/3)": one seed of three got there; "never": none did); `python -m '
        "bench.time_to_accuracy` on the accuracy results. Rows measured on different machines "
        "or under different loads do not compare in seconds: see the last column.",
        "",
        "| preset | batch | epochs | s to val 0.90 | 0.92 | 0.93 | 0.94 | s/epoch | whole run s "
        "| mean test acc (min–max) | measured on |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        *lines,
        "",
    ]


# --- The improved preset: its cost, and the search that chose it ---------------------------


def improved_cost_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    lines = ["## The `improved` preset against the old one", "", "### Cost, side by side", ""]
    result = results.get("improved-cost")
    if result is None:
        return [*lines, _not_run("improved-cost"), ""]
    s, c = result["summary"], result["config"]
    sides = {side["name"]: side for side in c["sides"]}
    rounds = result["rounds"]
    lines += [
        "Issue 11's cost goal: a run of the new preset at most 1/3 of the old one's, side by "
        "side. The old preset is the model file `bench/reference_improved.py` (no augmentation, "
        "dropout); both are trained by `core.training.train` (the loop of `fmnist-tui train`) "
        "in one process, with the same settings (AdamW, weight decay, label smoothing, warm-up "
        f"and cosine decay over a {c['planned_epochs']}-epoch run), each at its own batch size "
        "and the batches per call `train` picks for it: a warm-up epoch of each (it traces), "
        "a settling epoch of each (it retraces for the batches per call the measured step "
        f"time asks for, as a run's 2nd epoch does), then {c['rounds']} rounds of one epoch "
        "each, the order alternating. Epoch seconds include validation.",
        "",
        "| model | batch | batches per call | trainable params | warm-up epoch s | settling "
        "epoch s | steady epoch s (median) | per round | a run of "
        f"{c['planned_epochs']} epochs s (estimate) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for side, label in (("improved", "`improved` (today's)"), ("reference", "old `improved`")):
        lines.append(
            f"| {label} | {sides[side]['batch_size']} | {c['steps_per_execution'][side]} | "
            f"{s['trainable_params'][side]:,} | {s['warmup_epoch_seconds'][side]:.1f} | "
            f"{s['settle_epoch_seconds'][side]:.1f} | {s['epoch_seconds_median'][side]:.1f} | "
            + ", ".join(f"{r['epoch_seconds'][side]:.1f}" for r in rounds)
            + f" | {s['run_seconds_estimate'][side]:.0f} |"
        )
    ratio, run_ratio = s["ratio_median"], s["run_ratio_estimate"]
    lines += [
        "",
        f"New over old, per round: {', '.join(f'{r:.3f}' for r in s['ratios'])}; median "
        f"**{ratio:.3f}** (of the process's CPU seconds: {s['cpu_ratio_median']:.3f}); a whole "
        f"run, from the estimates above: {run_ratio:.3f} (its first two epochs are single "
        f"samples, so the median of the rounds is what the goal is judged on). Goal ≤ "
        f"{s['ratio_at_most']:.3f}: {_goal(bool(s['met']))}. The two epochs of a round run one "
        "after the other, so a change in the shared machine's load between them moves the "
        "wall-clock ratio (the load is in the stamp); the CPU-seconds ratio moves less. The "
        "accuracy table has the new preset's accuracy.",
        "",
        prov.stamp(result),
        "",
    ]
    return lines


def _git_dates(path: Path) -> str:
    """``first added in commit X on D, last changed in commit Y on E`` (from git)."""

    def log(*args: str) -> list[str]:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "log", "--format=%h %cs", *args, "--", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.split("\n") if done.returncode == 0 and done.stdout else []

    every = [line for line in log() if line]
    if not every:
        return "not in git"
    newest, oldest = every[0].split(), every[-1].split()
    return (
        f"added in commit {oldest[0]} on {oldest[1]}, last changed in commit {newest[0]} on "
        f"{newest[1]} ({len(every)} commits)"
    )


def improved_search_section(results_dir: Path) -> list[str]:
    """The candidates tried for the new preset (``improved_search.jsonl``), chosen on
    validation only."""
    path = results_dir / "improved_search.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    runs = [r for r in records if r.get("kind") == "run" and not r.get("stop_after")]
    if not runs:
        return []
    lines = [
        "### The candidates tried (validation only)",
        "",
        "Each one run at seed 0, chosen on the validation split; the test set was used for the "
        "chosen recipe only (the accuracy table). **Measured by `bench/improved_search.py`, "
        "since retired**: a training loop of its own at one batch per call (not `train`'s), "
        "so its seconds do not compare with `train`'s, and its records name no date, machine "
        f"or commit: the file was {_git_dates(path)}. The load averages beside each show how "
        "busy the machine was (the first three under heavy load).",
        "",
        "| candidate | params | MFLOP/img | batch | epochs | s/epoch (median) | 1-min load "
        "before | train acc (last epoch) | val acc | val acc, flip-averaged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        seconds = [float(e["seconds"]) for e in r.get("history", [])]
        last = (r.get("history") or [{}])[-1]
        load = r.get("load_before") or []
        lines.append(
            f"| {r.get('note') or r['arch']} | {r['params']:,} | {r['mflop_per_image']:.1f} | "
            f"{r['batch_size']} | {r['epochs']} | "
            f"{_fmt(statistics.median(seconds) if seconds else None)} | "
            f"{_fmt(float(load[0]) if load else None)} | {_fmt(last.get('accuracy'), '.3f')} | "
            f"{r['final_val_accuracy']:.4f} | {r['final_val_accuracy_flip']:.4f} |"
        )
    return [*lines, ""]


# --- Model files ------------------------------------------------------------------------------


def model_file_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    """The seed as a model file (``examples/seed.py``) against the seed preset."""
    accuracy, cost = results.get("accuracy-seed-file"), results.get("cost-seed-file")
    lines = ["## A model file against its preset", ""]
    if accuracy is None and cost is None:
        return []
    if accuracy is not None:
        s, c = accuracy["summary"], accuracy["config"]
        lines += [
            f"`{c['model_file']}` (the seed's layers as a model file) and the `{c['preset']}` "
            f"preset, {c['epochs']} epochs at seeds {', '.join(map(str, c['seeds']))} through "
            f"`fmnist-tui train`, interleaved ({c['order']}).",
            "",
            "| model | seeds | mean test accuracy | min–max | s/epoch after the 1st (median) |",
            "|---|---:|---:|---|---:|",
        ]
        for side in ("preset", "file"):
            v = s[side]
            lines.append(
                f"| {side} | {len(v['test_accuracies'])} | {v['test_accuracy_mean']:.4f} | "
                f"{_span(v['test_accuracies'], '.4f')} | "
                f"{_fmt(v.get('epoch_seconds_after_first_median'))} |"
            )
        same = (
            "every pair of runs of a seed bit-identical"
            if s["all_pairs_bit_identical"]
            else ("the runs of a seed differ (largest differences in the JSON)")
        )
        lines += [
            "",
            f"The file's mean within the preset's seed spread: "
            f"{_goal(bool(s['file_mean_within_preset_spread']))}; {same}.",
            "",
            prov.stamp(accuracy),
            "",
        ]
    if cost is not None:
        s, c = cost["summary"], cost["config"]
        lines += [
            f"Epoch time of the file against the preset, in one process ({c['order']}; batch "
            f"size {c['batch_size']}, {c['steps_per_execution']} batches a call for both): "
            f"epoch s (median) preset {s['epoch_seconds_median']['preset']:.1f}, file "
            f"{s['epoch_seconds_median']['file']:.1f}; file/preset per round "
            f"{', '.join(f'{r:.3f}' for r in s['ratios_file_preset'])}, median "
            f"**{s['ratio_file_preset_median']:.3f}** (CPU seconds "
            f"{s['cpu_ratio_file_preset_median']:.3f}). Goal ≤ {s['ratio_at_most']:.2f}: "
            f"{_goal(bool(s['met']))}.",
            "",
            prov.stamp(cost),
            "",
        ]
    return lines


# --- Stop latency, sweeps, backends -------------------------------------------------------------


def stop_latency_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    lines = ["### How fast `s` stops training", ""]
    result = results.get("stop-latency")
    if result is None:
        return [*lines, _not_run("stop-latency"), ""]
    c = result["config"]
    lines += [
        f"From the stop request (`s` in the app, Ctrl-C in `train`) to training's end, the "
        f"`{c['model']}` preset at batch size {c['batch_size']} on {c['limit_train']:,} "
        f"training images, {c['rounds']} round(s) per case on each backend, each backend in a "
        "process of its own. The stop is asked from another thread, at a random moment: "
        + "; ".join(f"*{case}*: {how}" for case, how in c["cases"].items())
        + ". A stop is seen between calls into the backend, so the wait is the rest of the "
        "call under way; *a call's seconds* is the batches per call times the measured step "
        "time.",
        "",
        "| backend | case | stops | median s | longest s | batches per call | a call's "
        "seconds (median) |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for backend in result["results"]:
        for case, v in backend["cases"].items():
            lines.append(
                f"| {backend['backend']} | {case} | {v['stops']} | {_fmt(v['median_s'], '.3f')} "
                f"| {_fmt(v['max_s'], '.3f')} | "
                f"{', '.join(map(str, v['steps_per_execution'])) or '–'} | "
                f"{_fmt(v['call_s_median'], '.3f')} |"
            )
    s = result["summary"]
    missing = result.get("backends_missing") or []
    lines += [
        "",
        f"In the middle of an epoch, every backend: median {_fmt(s['mid_epoch_median_s'], '.3f')}"
        f" s, longest {_fmt(s['mid_epoch_max_s'], '.3f')} s (the calls are sized for "
        f"{s['promise_s']:g} s). A stop that lands while a call is being compiled (the start "
        "of an epoch whose batches per call changed) waits for the compilation too."
        + (f" Not installed, so not measured: {', '.join(missing)}." if missing else ""),
        "",
        prov.stamp(result),
        "",
    ]
    return lines


def sweep_cost_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    result = results.get("sweep-cost")
    if result is None:
        return []
    s, c = result["summary"], result["config"]
    return [
        "### What a sweep trial costs beyond `train`",
        "",
        f"`fmnist-tui train` against a one-trial `fmnist-tui sweep` of the same run "
        f"(`{c['model']}`, {c['epochs']} epochs, batch size {c['batch_size']}, "
        f"{c['limit_train']:,} training images), {c['rounds']} rounds, each in a fresh "
        "process, the order alternating.",
        "",
        "| ratio, sweep over train | median of rounds | per round | goal |",
        "|---|---:|---|---|",
        f"| process wall time | {s['ratio_wall_sweep_train']:.3f} | "
        f"{', '.join(f'{r:.3f}' for r in s['ratios_wall_sweep_train'])} | ≤ "
        f"{s['max_ratio']:.2f}: {_goal(bool(s['within_goal']))} |",
        f"| training time | {s['ratio_train_sweep_train']:.3f} | "
        f"{', '.join(f'{r:.3f}' for r in s['ratios_train_sweep_train'])} | |",
        "",
        f"Medians of the processes: `train` {s['wall_s_median']['train']:.1f} s, `sweep` "
        f"{s['wall_s_median']['sweep']:.1f} s; within a round the sweep's took "
        f"{abs(s['extra_wall_s_median']):.2f} s "
        f"{'longer' if s['extra_wall_s_median'] >= 0 else 'less'} than `train`'s "
        "(median of rounds).",
        "",
        prov.stamp(result),
        "",
    ]


BACKEND_FILES = (
    ("backend-speed-tensorflow.json", "TensorFlow, the default backend"),
    ("backend-speed.json", "every backend, one run"),
)


def backends_section(files: dict[str, Result], prov: Provenance) -> list[str]:
    """``fmnist-tui train`` against a plain ``fit`` on each backend (``bench.backend_speed``)."""
    lines: list[str] = []
    for name, title in BACKEND_FILES:
        result = files.get(name)
        if result is None:
            continue
        lines += [
            f"### Backends: {title}",
            "",
            "| backend | rounds | (a) plain fit s/epoch after the 1st (median) | (b) "
            "`fmnist-tui train` | (b)/(a) after the 1st epoch (median) | per round | (b)/(a) "
            "all epochs (median) | 1st epoch s (a) / (b) | test accuracy (a) / (b) | goal |",
            "|---|---:|---:|---:|---:|---|---:|---|---|---|",
        ]
        for backend, s in result["summary"].items():
            goal = (
                f"≤ 0.70: {_goal(s['steady_ratio_cli_plain'] <= 0.70)}"
                if backend == "tensorflow"
                else ""
            )
            lines.append(
                f"| {backend} | {s['rounds']} | {s['plain_epoch_s_after_first']:.1f} | "
                f"{s['cli_epoch_s_after_first']:.1f} | {s['steady_ratio_cli_plain']:.3f} | "
                f"{', '.join(f'{r:.3f}' for r in s['steady_ratios'])} | "
                f"{s['ratio_cli_plain']:.3f} | {s['plain_first_epoch_s']:.1f} / "
                f"{s['cli_first_epoch_s']:.1f} | "
                f"{_span([float(x) for x in s['plain_test_accuracy']], '.4f')} / "
                f"{_span([float(x) for x in s['cli_test_accuracy']], '.4f')} | {goal} |"
            )
        lines += ["", prov.stamp(result), ""]
    if lines:
        lines = [
            "## Backends: `fmnist-tui train` against a plain Keras `fit` (CPU)",
            "",
            "The seed at batch size 32 on the whole training set, (a) and (b) in fresh "
            "processes, back to back, the order alternating each round (`python -m "
            "bench.backend_speed`); the ratio is taken within each round. The notes below the "
            "generated tables say what each side does.",
            "",
            *lines,
        ]
    return lines


def study_section(results: dict[str, Result], prov: Provenance) -> list[str]:
    """The improved preset's learning-rate / weight-decay study (``bench.improved_study``)."""
    result = results.get("improved-study")
    if result is None:
        return []
    trials = sorted(result["trials"], key=lambda t: t["number"])
    objective = result.get("objective") or "objective"
    lines = [
        "### The improved preset's training settings, searched with `fmnist-tui sweep`",
        "",
        f"Study `{result['study']}` (`examples/sweeps/improved_lr_wd.toml`: TPE over the "
        "learning rate and weight decay, each trial up to 15 epochs on the whole training set, "
        f"median pruning), {result['direction']} {objective}, validation only. The value of a "
        "trial that is not complete is the best it reported so far. A retried trial carries "
        "on its killed predecessor's run folder from its newest checkpoint.",
        "",
        f"| trial | state | learning rate | weight decay | epochs | {objective} | minutes |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        params = t["params"]
        retry = t.get("retry_of")
        state = t["state"] + (f" (retry of {retry})" if retry is not None else "")
        value = "–" if t["value"] is None else f"{t['value']:.4f}"
        minutes = "–" if t["duration_s"] is None else f"{t['duration_s'] / 60:.0f}"
        mark = " **best**" if t["number"] == result.get("best") else ""
        lines.append(
            f"| {t['number']}{mark} | {state} | {_num(params.get('learning_rate'))} | "
            f"{_num(params.get('weight_decay'))} | {t['epochs_done']} | {value} | {minutes} |"
        )
    lines += ["", prov.stamp(result), ""]
    return lines


def _num(value: object) -> str:
    return "–" if not isinstance(value, int | float) else f"{value:.3g}"
