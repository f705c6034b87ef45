"""The headless subcommands: plain lines on stdout, errors as one line on stderr."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from core.config import ConfigError, TrainConfig
from core.data import DataError
from core.errors import ExportError, RunError
from core.events import (
    BatchProgress,
    EpochEnded,
    EvaluationFinished,
    RunSaved,
    RunWarning,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.export import export_run
from core.files import os_reason
from core.hyperparameters import SETTING_NAMES
from core.logs import default_log_path, native_stderr_to, quiet_tensorflow_env
from core.model_files import ModelFileError
from core.presets import DEFAULT_MODEL
from core.requests import NewRun, ResumeRun, RunRequest
from core.runs.catalogue import list_runs
from core.session import RunSession, Signals
from tui.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


class _Printer:
    """Formats training events as lines; a live progress line when stdout is a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self.final_epoch = 0
        self.failure: TrainingFailed | None = None
        self.evaluation: EvaluationFinished | None = None
        self.run_dir: str | None = None
        self._progress_shown = False

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self.out.write("\r\x1b[2K")
            self._progress_shown = False

    def line(self, text: str) -> None:
        self._clear_progress()
        self.out.write(text + "\n")
        self.out.flush()

    def __call__(self, event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress):
            if self.live:
                self.out.write(
                    f"\r\x1b[2Kepoch {event.epoch}/{self.final_epoch}  batch "
                    f"{event.batch}/{event.batches}  loss {event.loss:.4f}  accuracy "
                    f"{event.accuracy:.4f}  {event.samples_per_second:,.0f} samples/s"
                )
                self.out.flush()
                self._progress_shown = True
        elif isinstance(event, TrainingStarted):
            self.final_epoch = event.final_epoch
            summary = event.summary
            self.line(f"model {event.config.model}: {summary.trainable_params:,} trainable params")
            self.line(f"device: {event.device}")
            self.line(
                f"data: {event.data_source}: {event.train_samples:,} train, "
                f"{event.val_samples:,} validation, batch size {event.config.batch_size}"
            )
        elif isinstance(event, EpochEnded):
            m = event.metrics
            self.line(
                f"epoch {m.epoch}/{event.final_epoch}  loss {m.loss:.4f}  "
                f"accuracy {m.accuracy:.4f}  val_loss {m.val_loss:.4f}  "
                f"val_accuracy {m.val_accuracy:.4f}  {m.seconds:.1f}s"
            )
        elif isinstance(event, TrainingStopped):
            self.line(f"stopped after {len(event.history)} complete epoch(s)")
        elif isinstance(event, TrainingFinished):
            if event.early_stopping is not None:
                self.line(
                    f"early stopping after epoch {event.early_stopping['stopped_epoch']}: "
                    f"kept the weights of epoch {event.early_stopping['best_epoch']} "
                    "(lowest validation loss)"
                )
            self.line(f"finished in {event.seconds:.1f}s")
        elif isinstance(event, TrainingFailed):
            self.failure = event
        elif isinstance(event, EvaluationFinished):
            self.evaluation = event
            ev = event.evaluation
            self.line(f"test_accuracy={ev.test_accuracy:.4f} test_loss={ev.test_loss:.4f}")
            if ev.single_view_accuracy is not None:
                self.line(
                    f"(flip-averaged: each test image and its mirror image; one view alone: "
                    f"{ev.single_view_accuracy:.4f})"
                )
        elif isinstance(event, RunSaved):
            self.run_dir = event.run_dir
            self.line(f"run: {event.run_dir}")
        elif isinstance(event, RunWarning):
            self.line(f"warning: {event.message}")


def _log_path(command: str) -> Path | None:
    """A fresh log file for ``command``, or ``None`` after saying on stderr why it cannot be."""
    log_path = default_log_path(command)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
    except OSError as error:
        reason = os_reason(error)
        print(
            f"fmnist-tui {command}: error: cannot write the log file {log_path}: {reason}",
            file=sys.stderr,
        )
        return None
    return log_path


def train_command(args: argparse.Namespace, runs_root: Path) -> int:
    request: RunRequest
    if args.resume is not None:
        # The data may have moved (--data-dir); the run's other settings stay its own.
        request = ResumeRun(args.resume, args.epochs, data_dir=args.data_dir)
    else:
        try:
            config = TrainConfig().for_model(args.model or DEFAULT_MODEL)
        except ConfigError as error:
            print(f"fmnist-tui train: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        config = config.with_changes(
            epochs=args.epochs,
            val_split=0.2 if args.val_split is None else args.val_split,
            seed=args.seed or 0,
            limit_train=args.limit_train,
            limit_test=args.limit_test,
            data_dir=args.data_dir,
            patience=args.early_stop,
            augment=bool(args.augment),
        )
        if args.batch_size is not None:
            config = config.with_changes(batch_size=args.batch_size)
        changed = {
            name: getattr(args, name)
            for name in SETTING_NAMES
            if getattr(args, name, None) is not None
        }
        request = NewRun(config.with_training(**changed) if changed else config)
    signals = Signals()
    session = RunSession(runs_root, signals=signals)
    try:
        plan = session.plan(request)
    except RunError as error:
        print(f"fmnist-tui train: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    quiet_tensorflow_env()
    log_path = _log_path("train")
    if log_path is None:
        return EXIT_USAGE

    printer = _Printer(sys.stdout)
    with native_stderr_to(log_path) as terminal:

        def request_stop(signum: int, frame: FrameType | None) -> None:
            if not signals.stop.is_set():
                signals.request_stop()  # stop after this batch; evaluate and save
                return
            # A second Ctrl-C: leave now, without waiting for the ML runtime to unwind. Every
            # file is written atomically, so the run folder keeps its newest checkpoint and
            # says how far it got (it resumes with --resume).
            signals.request_abort()
            sys.stdout.flush()
            terminal.write("fmnist-tui train: interrupted\n")
            terminal.flush()
            os._exit(EXIT_INTERRUPTED)

        try:
            # Loaded before anything is written: bad data leaves no run folder behind.
            session.dataset_for(plan.config)
        except DataError as error:
            terminal.write(f"fmnist-tui train: error: {error}\n")
            return EXIT_USAGE
        previous = signal.signal(signal.SIGINT, request_stop)
        try:
            if plan.resume is not None:
                printer.line(plan.describe())
            result = session.run(plan, printer)
        except (RunError, DataError) as error:
            terminal.write(f"fmnist-tui train: error: {error}\n")
            return EXIT_USAGE
        except ModelFileError as error:
            # The user's own code raised: their traceback goes to the log, one line here.
            if error.details:
                sys.stderr.write(error.details)
                sys.stderr.flush()
            terminal.write(f"fmnist-tui train: error: {error}\n")
            terminal.write(f"fmnist-tui train: log: {log_path}\n")
            return EXIT_USAGE
        except KeyboardInterrupt:
            terminal.write("fmnist-tui train: interrupted\n")
            return EXIT_INTERRUPTED
        finally:
            signal.signal(signal.SIGINT, previous)
        from core.backend import peak_memory_line

        printer.line(peak_memory_line())
        if result.failure is not None:
            terminal.write(f"fmnist-tui train: error: {result.failure.message}\n")
            terminal.write(f"fmnist-tui train: log: {log_path}\n")
            return EXIT_FAILED
        if not args.no_export and result.saved and result.run_dir is not None:
            try:
                files = export_run(result.run_dir)
            except (ExportError, RunError) as error:
                terminal.write(f"fmnist-tui train: error: {error}\n")
                return EXIT_FAILED
            for path in files:
                printer.line(f"wrote {path}")
    return EXIT_INTERRUPTED if result.outcome == "stopped" else EXIT_OK


def summary_command(model: str) -> int:
    """The model's layers and parameter counts, then what it trains with by default."""
    from core.compare import run_settings
    from core.model_files import ModelFileError

    try:
        config = TrainConfig().for_model(model)
    except ConfigError as error:
        print(f"fmnist-tui summary: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    quiet_tensorflow_env()
    log_path = _log_path("summary")
    if log_path is None:
        return EXIT_USAGE
    with native_stderr_to(log_path) as terminal:
        from core.model_files import read_model_file
        from core.models import build_model, summarize

        try:
            source = None if config.is_preset else read_model_file(model)
            summary = summarize(build_model(config.model, source=source))
        except ModelFileError as error:
            # Their own code: the traceback goes to the log, one line to the terminal.
            if error.details:
                sys.stderr.write(error.details)
            terminal.write(f"fmnist-tui summary: error: {error}\n")
            terminal.write(f"fmnist-tui summary: log: {log_path}\n")
            return EXIT_USAGE
    print(summary.format_table())
    settings = run_settings(config)
    print(
        f"Trains by default with: batch size {settings['batch']}, {settings['optimizer']} at "
        f"learning rate {settings['lr']}, weight decay {settings['wd']}, label smoothing "
        f"{settings['smoothing']}, schedule {settings['schedule']}, augment {settings['augment']}"
    )
    return EXIT_OK


def export_command(run_dir: Path, out: Path | None, *, tensorboard: bool = False) -> int:
    try:
        files = export_run(run_dir, out)
        if tensorboard:
            from core.history_csv import write_history_csv
            from core.runs.catalogue import load_run
            from core.tensorboard_log import export_tensorboard

            # Every file goes to --out when it is given: the run folder is then only read.
            files.append(export_tensorboard(run_dir, out))
            files.append(write_history_csv(out or run_dir, load_run(run_dir).history))
    except (RunError, ExportError) as error:
        print(f"fmnist-tui export: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for path in files:
        print(f"wrote {path}")
    return EXIT_OK


def runs_command(
    root: Path, *, as_json: bool = False, sort: str = "started", reverse: bool = False
) -> int:
    """The saved runs side by side: a row each with the settings that differ between them
    (those every run shares on one line above), or ``--json``, a record each."""
    from core.compare import (
        column_named,
        listing_record,
        shared_settings,
        shared_text,
        shown_columns,
        sort_listings,
    )

    try:
        runs = sort_listings(list_runs(root), column_named(sort), reverse=reverse)
    except RunError as error:
        print(f"fmnist-tui runs: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        print(json.dumps([listing_record(run) for run in runs], indent=2, allow_nan=False))
        return EXIT_OK
    if not runs:
        print(f"no runs in {root}")
        return EXIT_OK
    shared = shared_settings(runs)
    if shared:
        print(f"all runs: {shared_text(shared)}")
    # Each row ends with the folder's full path instead of its name, ready to copy.
    columns = [column for column in shown_columns(runs) if column.name != "folder"]
    cells = [[column.text(run) for column in columns] for run in runs]
    widths = [
        max(len(column.header), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)
    ]

    def line(texts: list[str], last: str) -> str:
        padded = [
            text.rjust(width) if column.numeric else text.ljust(width)
            for column, text, width in zip(columns, texts, widths, strict=True)
        ]
        return "  ".join([*padded, last])

    print(line([column.header.lower() for column in columns], "run"))
    indent = " " * (widths[0] + 2)
    for run, row in zip(runs, cells, strict=True):
        print(line(row, str(run.path)))
        if run.problem:
            print(f"{indent}damaged: {run.problem}")
        elif run.resumable:
            print(f"{indent}resume: fmnist-tui train --resume {run.path}")
    return EXIT_OK


def delete_command(run_dirs: Sequence[Path], *, yes: bool) -> int:
    """Delete run folders, after asking on the terminal unless ``yes``. A run being trained,
    or anything that is not a run folder, is refused before anything is deleted."""
    from core.runs.delete import check_deletable, delete_run

    unique = list(dict.fromkeys(Path(os.path.abspath(path)) for path in run_dirs))
    refused = False
    for run_dir in unique:
        try:
            check_deletable(run_dir)
        except RunError as error:
            print(f"fmnist-tui delete: error: {error}", file=sys.stderr)
            refused = True
    if refused:
        return EXIT_USAGE
    count = f"{len(unique)} run{'s' if len(unique) != 1 else ''}"
    if not yes:
        if not sys.stdin.isatty():
            print(
                f"fmnist-tui delete: error: not deleting {count} without --yes "
                "(no terminal to ask on)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        # The question goes to stderr, as rm -i asks: stdout may be a file or a pipe.
        for run_dir in unique:
            sys.stderr.write(f"  {run_dir}\n")
        sys.stderr.write(f"delete {count}? [y/N] ")
        sys.stderr.flush()
        try:
            answer = sys.stdin.readline()
        except KeyboardInterrupt:
            answer = ""
            sys.stderr.write("\n")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return EXIT_OK
    failed = False
    for run_dir in unique:
        try:
            delete_run(run_dir)
        except RunError as error:
            print(f"fmnist-tui delete: error: {error}", file=sys.stderr)
            failed = True
            continue
        print(f"deleted {run_dir}")
    return EXIT_USAGE if failed else EXIT_OK
