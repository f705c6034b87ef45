"""What the app costs while it trains: training time and peak memory, A B C interleaved.

The same model, data, batch size (32) and epochs are trained by (a) a bare ``keras.Model.fit``
script, (b) ``fmnist-tui train`` and (c) the Textual app with its live charts, each in a fresh
process. A round runs all three; the order rotates every round (a b c, b c a, c a b) so that
none always runs first or last on a shared machine. Training time is the sum of the epochs'
seconds, timed by a Keras callback from ``on_epoch_begin`` to ``on_epoch_end`` in every mode.
The ratios (b)/(a) and (c)/(a) are taken within each round and their median reported.

Peak memory is each process's maximum resident set size (``ru_maxrss`` from ``wait4``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Settings, data_dir_for, median, progress, write_result
from bench.modes import ModeRun, Workload, run_app, run_cli, run_plain

NAME = "overhead"
MODES = ("plain", "cli", "app")


@dataclass(frozen=True, slots=True)
class Plan:
    epochs: int
    rounds: int
    limit_train: int | None = None
    limit_test: int | None = None


FULL = Plan(epochs=3, rounds=3)
"""The whole training set (48,000 images, 12,000 for validation), three epochs."""
QUICK = Plan(epochs=1, rounds=1, limit_train=2000, limit_test=500)


def run(settings: Settings) -> dict[str, Any]:
    plan = QUICK if settings.quick else FULL
    rounds = settings.rounds or plan.rounds
    data_dir, data = data_dir_for(settings, NAME)
    work = Workload(
        model="seed",
        epochs=plan.epochs,
        data_dir=data_dir,
        limit_train=plan.limit_train,
        limit_test=plan.limit_test,
    )

    def run_app_quietly(work: Workload, scratch: Path, tag: str) -> ModeRun:
        # No lag ticker here: its 100 wake-ups a second would be the probe's cost, not the app's.
        return run_app(work, scratch, tag, lag_probe=False)

    runners = {"plain": run_plain, "cli": run_cli, "app": run_app_quietly}
    runs: list[dict[str, Any]] = []
    by_round: list[dict[str, ModeRun]] = []
    for round_index in range(rounds):
        order = MODES[round_index % 3 :] + MODES[: round_index % 3]
        results: dict[str, ModeRun] = {}
        for mode in order:
            progress(f"{NAME}: round {round_index + 1}/{rounds}, mode {mode}")
            result = runners[mode](work, settings.work_dir, f"{NAME}-r{round_index}")
            results[mode] = result
            runs.append({"round": round_index + 1, **result.to_dict()})
            progress(
                f"{NAME}: {mode} trained in {result.train_s:.1f} s, "
                f"peak RSS {result.max_rss_mib:.0f} MiB"
            )
        by_round.append(results)

    def ratios(mode: str, key: str) -> list[float]:
        return [
            _value(r[mode], key) / _value(r["plain"], key)
            for r in by_round
            if _value(r["plain"], key)
        ]

    def steady(run: ModeRun) -> float:
        return sum(run.epoch_seconds[1:]) if len(run.epoch_seconds) > 1 else run.train_s

    steady_ratios = {
        mode: [steady(r[mode]) / steady(r["plain"]) for r in by_round] for mode in ("cli", "app")
    }
    app_runs = [r["app"] for r in by_round]
    summary = {
        "train_s_median": {m: median([r[m].train_s for r in by_round]) for m in MODES},
        "ratio_cli_plain": median(ratios("cli", "train_s")),
        "ratio_app_plain": median(ratios("app", "train_s")),
        "ratios_cli_plain": ratios("cli", "train_s"),
        "ratios_app_plain": ratios("app", "train_s"),
        "steady_ratio_cli_plain": median(steady_ratios["cli"]),
        "steady_ratio_app_plain": median(steady_ratios["app"]),
        "max_rss_mib_median": {m: median([r[m].max_rss_mib for r in by_round]) for m in MODES},
        "rss_ratio_app_plain": median(ratios("app", "max_rss_mib")),
        "rss_ratio_cli_plain": median(ratios("cli", "max_rss_mib")),
        "app_frame_training_ms": _pooled_percentiles(app_runs, "frame_ms"),
        "app_frame_cpu_training_ms": _pooled_percentiles(app_runs, "frame_cpu_ms"),
        "app_ui_thread_cpu_share": median(
            [
                r.extra["ui_thread_cpu_training_s"] / r.extra["training_wall_s"]
                for r in app_runs
                if r.extra.get("training_wall_s")
            ]
        ),
        "app_gc_full_training": {
            "count": median([r.extra["gc_training"]["gen2"]["count"] for r in app_runs]),
            "max_ms": median([r.extra["gc_training"]["gen2"]["max_ms"] for r in app_runs]),
            "max_cpu_ms": median([r.extra["gc_training"]["gen2"]["max_cpu_ms"] for r in app_runs]),
        },
        "app_frames_per_second": median(
            [
                r.extra["frames_training"] / r.extra["training_wall_s"]
                for r in app_runs
                if r.extra.get("training_wall_s")
            ]
        ),
    }
    payload = {
        "config": {**work.describe(), "rounds": rounds, "data": data, "screen": "120x40"},
        "summary": summary,
        "runs": runs,
    }
    write_result(settings, NAME, payload)
    return payload


def _value(run: ModeRun, key: str) -> float:
    return float(getattr(run, key))


def _pooled_percentiles(runs: list[ModeRun], key: str) -> dict[str, float]:
    """Median over runs of each run's training-phase percentiles (p50, p99, max)."""
    stats = [r.extra[key]["training"] for r in runs if r.extra.get(key, {}).get("training")]
    return {
        stat: median([float(s[stat]) for s in stats if stat in s]) for stat in ("p50", "p99", "max")
    } | {"runs": len(stats)}
