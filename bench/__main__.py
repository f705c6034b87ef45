"""``uv run python -m bench``: run the benchmarks, write their JSON, print the Markdown table.

Examples::

    uv run python -m bench                          # everything (hours: see BENCHMARKS.md)
    uv run python -m bench --only overhead          # one benchmark
    uv run python -m bench --only accuracy          # the four accuracy benchmarks
    uv run python -m bench --quick                  # subsets, a smoke test; results in /tmp
    uv run python -m bench --report                 # only rebuild the table from the JSON

Each benchmark writes ``<results-dir>/<name>.json``; the table is built from every result file
present, so benchmarks can run on different days. Full runs into the default results folder
also rewrite the generated part of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    accuracy,
    coldstart,
    improved_cost,
    mistakes,
    model_file,
    overhead,
    responsiveness,
    stop_latency,
    sweep_cost,
)
from bench.common import (
    DEFAULT_RESULTS_DIR,
    QUICK_RESULTS_DIR,
    ROOT,
    BenchError,
    Settings,
    find_data_dir,
    progress,
    scratch_dir,
)
from bench.report import markdown, update_document

DOCUMENT = ROOT / "BENCHMARKS.md"

BENCHMARKS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "mistakes": mistakes.run,
    "coldstart": coldstart.run,
    "responsiveness": responsiveness.run,
    "overhead": overhead.run,
    stop_latency.NAME: stop_latency.run,
    **{
        name: (lambda settings, name=name: accuracy.run(settings, name))  # type: ignore[misc]
        for name in accuracy.PRESETS
    },
    model_file.ACCURACY_NAME: model_file.run_accuracy,
    model_file.COST_NAME: model_file.run_cost,
    sweep_cost.NAME: sweep_cost.run,
    improved_cost.NAME: improved_cost.run,
}
"""In the order ``all`` runs them: the quick ones first, the long training runs last."""
GROUPS = {"accuracy": list(accuracy.PRESETS), "all": list(BENCHMARKS)}
QUICK_ALL = ["mistakes", "coldstart", "responsiveness", "overhead", "accuracy-seed"]
"""What ``--quick`` runs without ``--only``: one accuracy preset, as the three share every line
of code but the model name (``--quick --only accuracy`` runs them all); under a minute."""
ESTIMATES = {
    "mistakes": "under a minute",
    "coldstart": "3-4 min",
    "responsiveness": "1-2 min",
    "overhead": "10-15 min",
    stop_latency.NAME: "5-10 min (3 rounds of 3 stops on each backend installed)",
    "accuracy-seed": "6-10 min",
    "accuracy-seed-augment": "6-10 min",
    "accuracy-seed-deep": "15-30 min",
    "accuracy-improved": "35-45 min (15 epochs of about 50 s at batch size 128, 3 seeds)",
    model_file.ACCURACY_NAME: "12-20 min (the seed preset and examples/seed.py, 3 seeds each)",
    model_file.COST_NAME: "10-15 min (one process: a warm-up, then 8 rounds of A B B A epochs)",
    sweep_cost.NAME: "5-10 min (4 rounds of a train run and a one-trial sweep, 2 epochs each)",
    improved_cost.NAME: "10-20 min (a warm-up epoch of each, then 4 rounds of one epoch each)",
}
"""Full-size run times on the project's 2-core CPU, roughly (they depend on the load)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the fmnist-tui benchmarks and print their Markdown table.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=[*BENCHMARKS, *GROUPS],
        help=f"run only this benchmark (repeatable): {', '.join([*BENCHMARKS, *GROUPS])}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small subsets, one round: a smoke test, written to "
        f"{QUICK_RESULTS_DIR} unless --results-dir says otherwise",
    )
    parser.add_argument("--results-dir", type=Path, metavar="DIR")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="the Fashion-MNIST IDX files (default: $FMNIST_DATA_DIR, then the Debian package)",
    )
    parser.add_argument(
        "--reuse-runs",
        type=Path,
        metavar="DIR",
        help="accuracy: use finished run folders in DIR with exactly the benchmark's settings "
        "instead of training those seeds again (the result file names them)",
    )
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="interleaved rounds (overhead, coldstart, ...)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        metavar="DIR",
        help="keep run folders, logs and child outputs here (default: a temporary folder)",
    )
    parser.add_argument(
        "--report", action="store_true", help="run nothing: print the table from the JSON files"
    )
    parser.add_argument(
        "--no-doc", action="store_true", help="do not rewrite the table in BENCHMARKS.md"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the benchmarks and their full-size run times"
    )
    return parser


def recorded_command(argv: list[str] | None) -> str:
    """The command line that ran the harness, as it can be typed again.

    From the command line (``argv`` None) it is the process's own ``sys.orig_argv``, so the
    interpreter and its options (``-X dev``, ``-O``) are what really ran; a call of
    :func:`main` with a list is written as the ``-m bench`` command that would do the same.
    The interpreter is written ``uv run python`` only when it is this project's virtual
    environment and uv started the session (``$UV``), as ``uv run`` gives the same interpreter.
    """
    if argv is None:
        interpreter, *words = sys.orig_argv
    else:
        interpreter, words = sys.executable, ["-m", "bench", *argv]
    project_python = (ROOT / ".venv" / "bin").absolute()
    if os.environ.get("UV") and Path(interpreter).absolute().parent == project_python:
        head = "uv run python"
    else:
        head = shlex.quote(interpreter)
    return f"{head} {shlex.join(words)}"


def _selected(only: list[str] | None, quick: bool) -> list[str]:
    if not only and quick:
        return list(QUICK_ALL)
    names: list[str] = []
    for name in only or ["all"]:
        for member in GROUPS.get(name, [name]):
            if member not in names:
                names.append(member)
    return names


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        for name in BENCHMARKS:
            print(f"{name:<20} {ESTIMATES[name]}")
        return 0
    results_dir = args.results_dir or (QUICK_RESULTS_DIR if args.quick else DEFAULT_RESULTS_DIR)
    results_dir = results_dir.resolve()
    if args.quick and results_dir == DEFAULT_RESULTS_DIR.resolve():
        print("python -m bench: quick results never go to bench/results", file=sys.stderr)
        return 2
    failures: list[str] = []
    if not args.report:
        command = recorded_command(argv)
        data_dir = find_data_dir(args.data_dir)
        if args.data_dir is not None and data_dir is None:
            print(f"python -m bench: no Fashion-MNIST files in {args.data_dir}", file=sys.stderr)
            return 2
        with scratch_dir(args.work_dir) as work_dir:
            settings = Settings(
                results_dir=results_dir,
                quick=args.quick,
                command=command,
                data_dir=data_dir,
                work_dir=work_dir,
                reuse_runs=args.reuse_runs,
                rounds=args.rounds,
            )
            for name in _selected(args.only, args.quick):
                progress(f"{name}: starting" + (" (quick)" if args.quick else ""))
                try:
                    BENCHMARKS[name](settings)
                except BenchError as error:
                    failures.append(name)
                    progress(f"{name}: FAILED: {error}")
                else:
                    progress(f"{name}: done")
    table = markdown(results_dir)
    print(table)
    if not args.quick and not args.no_doc and results_dir == DEFAULT_RESULTS_DIR.resolve():
        if update_document(DOCUMENT, table):
            progress(f"updated {DOCUMENT.relative_to(ROOT)}")
        else:
            progress(f"{DOCUMENT.name} has no generated block; table not written there")
    if failures:
        progress(f"failed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
