"""What an epoch of today's ``improved`` costs against the old one's, both trained by ``train``.

Issue 11's cost goal: the new preset's run at most 1/3 of the old preset's. The old preset is
the model file ``bench/reference_improved.py`` (batch size 32); the new one is the preset
(batch size 128). Both are trained through ``core.training.train`` (the loop ``fmnist-tui
train`` runs) with the same training settings (AdamW at 3e-3, weight decay 1e-4, label
smoothing 0.1, a one-epoch warm-up then cosine decay, compiled for a 15-epoch run), the same
data and each its own batches per call as ``train`` picks them, in one process
(``bench.interleaved_epochs``): a warm-up epoch of each (it traces; reported apart), then
a settling epoch of each (it retraces for the batches per call ``train`` picks from the step time
of the first, as a run's 2nd epoch does), then rounds of one epoch each, the order alternating
(new, old; old, new; ...). The median of the per-round ratios new/old of the epoch seconds is
the steady ratio; a 15-epoch run of each is estimated as its warm-up and settling epochs plus
13 steady ones, and the ratio of those estimates is the whole run's.

    uv run python -m bench --only improved-cost [--rounds N]
"""

from __future__ import annotations

import json
from typing import Any

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

NAME = "improved-cost"
REFERENCE_FILE = ROOT / "bench" / "reference_improved.py"
ROUNDS = 4
MAX_RATIO = 1 / 3
SIDES = ("improved", "reference")
QUICK_LIMIT = 2000


def _sides() -> list[dict[str, Any]]:
    from bench import reference_improved
    from core.presets import get_preset

    preset = get_preset("improved")
    return [
        {"name": "improved", "model": "improved", "batch_size": preset.batch_size, "training": {}},
        {
            "name": "reference",
            "model": str(REFERENCE_FILE),
            "batch_size": reference_improved.BATCH_SIZE,
            "training": reference_improved.TRAINING,
        },
    ]


def run(settings: Settings) -> dict[str, Any]:
    """Time the two side by side in one child process; the ratio improved/reference."""
    from bench.reference_improved import EPOCHS

    data_dir, data = data_dir_for(settings, NAME)
    rounds = settings.rounds or (1 if settings.quick else ROUNDS)
    spec = {
        "sides": _sides(),
        "data_dir": str(data_dir),
        "rounds": rounds,
        "order": "alternate",
        "planned_epochs": EPOCHS,
        "limit_train": QUICK_LIMIT if settings.quick else None,
        "seed": 0,
    }
    spec_path = settings.work_dir / f"{NAME}-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    out = settings.work_dir / f"{NAME}.json"
    progress(f"{NAME}: a warm-up epoch of each, then {rounds} rounds of one epoch each")
    result = run_child(
        [python(), "-m", "bench.interleaved_epochs", str(spec_path), str(out)],
        env=child_env(settings.work_dir),
        timeout=6 * 3600,
        log=settings.work_dir / f"{NAME}.log",
    )
    if result.returncode != 0 or not out.is_file():
        raise BenchError(f"{NAME}: the child exited with {result.returncode}")
    child = json.loads(out.read_text(encoding="utf-8"))
    payload = summarize(child)
    payload["config"] = {
        "sides": spec["sides"],
        "rounds": rounds,
        "order": "a warm-up epoch of each, then rounds of one epoch of each, the order "
        "alternating (improved, reference; reference, improved; ...)",
        "measured": "the training callback's wall seconds of each epoch (validation "
        "included), and the process's CPU seconds (all threads) of the call that trained it",
        "planned_epochs": EPOCHS,
        "backend": child["backend"],
        "steps_per_execution": child["steps_per_execution"],
        "train_samples": child["train_samples"],
        "data": data,
        **({"limit_train": QUICK_LIMIT} if settings.quick else {}),
    }
    payload["child_wall_s"] = child["wall_s"]
    for row in payload["rounds"]:
        progress(
            f"{NAME}: round {row['round']} ({', '.join(row['order'])}): improved "
            f"{row['epoch_seconds']['improved']:.1f} s, reference "
            f"{row['epoch_seconds']['reference']:.1f} s: ratio {row['ratio']:.3f}"
        )
    write_result(settings, NAME, payload)
    return payload


def summarize(child: dict[str, Any]) -> dict[str, Any]:
    """Per-round ratios of the epoch seconds (and CPU seconds), their median, the goal."""
    rows: list[dict[str, Any]] = []
    for index, measured in enumerate(child["rounds"]):
        epochs = measured["epochs"]
        wall = {side: epochs[side][0]["seconds"] for side in SIDES}
        cpu = {side: epochs[side][0]["cpu_s"] for side in SIDES}
        rows.append(
            {
                "round": index + 1,
                "order": measured["order"],
                "epoch_seconds": wall,
                "epoch_cpu_seconds": cpu,
                "ratio": wall["improved"] / wall["reference"],
                "cpu_ratio": cpu["improved"] / cpu["reference"],
            }
        )
    ratio = median([r["ratio"] for r in rows])
    warmup, settle = child["warmup"], child["settle"]
    steady = {side: median([r["epoch_seconds"][side] for r in rows]) for side in SIDES}
    # A run: its 1st epoch (traces), its 2nd (retraces for the batches per call the step
    # time asks for), then steady epochs.
    run_s = {
        side: warmup[side]["seconds"]
        + settle[side]["seconds"]
        + (child["planned_epochs"] - 2) * steady[side]
        for side in SIDES
    }
    return {
        "summary": {
            "ratio_median": ratio,
            "run_seconds_estimate": run_s,
            "run_ratio_estimate": run_s["improved"] / run_s["reference"],
            "ratios": [r["ratio"] for r in rows],
            "cpu_ratio_median": median([r["cpu_ratio"] for r in rows]),
            "ratio_at_most": MAX_RATIO,
            "met": ratio <= MAX_RATIO,
            "epoch_seconds_median": steady,
            "warmup_epoch_seconds": {side: warmup[side]["seconds"] for side in SIDES},
            "settle_epoch_seconds": {side: settle[side]["seconds"] for side in SIDES},
            "trainable_params": child["trainable_params"],
        },
        "rounds": rows,
    }
