"""The headless subcommands: plain lines on stdout, errors as one line on stderr."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TextIO

from core.config import TrainConfig
from core.data import DataError, load_dataset_for
from core.events import (
    BatchProgress,
    EpochEnded,
    EvaluationFinished,
    RunSaved,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.export import ExportError, export_all
from core.logs import default_log_path, native_stderr_to, quiet_tensorflow_env
from core.runs import ResumePlan, RunError, list_runs, load_run, plan_resume
from tui.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


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
        elif isinstance(event, RunSaved):
            self.run_dir = event.run_dir
            self.line(f"run: {event.run_dir}")


def _log_path(command: str) -> Path | None:
    """A fresh log file for ``command``, or ``None`` after saying on stderr why it cannot be."""
    log_path = default_log_path(command)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
    except OSError as error:
        reason = error.strerror or str(error)
        print(
            f"fmnist-tui {command}: error: cannot write the log file {log_path}: {reason}",
            file=sys.stderr,
        )
        return None
    return log_path


def train_command(args: argparse.Namespace, runs_root: Path) -> int:
    plan: ResumePlan | None = None
    if args.resume is not None:
        try:
            plan = plan_resume(args.resume, args.epochs)
        except RunError as error:
            print(f"fmnist-tui train: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        config = plan.config
        if args.data_dir is not None:  # the data may have moved; the run's settings have not
            config = config.with_changes(data_dir=args.data_dir)
    else:
        config = TrainConfig(
            epochs=args.epochs,
            model=args.model or "seed",
            batch_size=32 if args.batch_size is None else args.batch_size,
            val_split=0.2 if args.val_split is None else args.val_split,
            seed=args.seed or 0,
            limit_train=args.limit_train,
            limit_test=args.limit_test,
            data_dir=args.data_dir,
            patience=args.early_stop,
        )
    quiet_tensorflow_env()
    log_path = _log_path("train")
    if log_path is None:
        return EXIT_USAGE
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    printer = _Printer(sys.stdout)
    with native_stderr_to(log_path) as terminal:
        try:
            dataset = load_dataset_for(config)
        except DataError as error:
            terminal.write(f"fmnist-tui train: error: {error}\n")
            return EXIT_USAGE
        from core.pipeline import resume_training, run_training

        previous = signal.signal(signal.SIGINT, request_stop)
        try:
            if plan is not None:
                if plan.epochs:
                    printer.line(
                        f"resuming {plan.run_dir.name} after epoch {plan.checkpoint.epoch}, "
                        f"to epoch {plan.final_epoch}"
                    )
                else:
                    printer.line(
                        f"finishing {plan.run_dir.name}: its {plan.checkpoint.epoch} epochs are "
                        "trained but were never evaluated"
                    )
                state, run_dir = resume_training(plan, printer, stop, dataset=dataset)
            else:
                state, run_dir = run_training(
                    config, printer, stop, dataset=dataset, runs_root=runs_root
                )
        except RunError as error:
            terminal.write(f"fmnist-tui train: error: {error}\n")
            return EXIT_USAGE
        except KeyboardInterrupt:
            terminal.write("fmnist-tui train: interrupted\n")
            return EXIT_INTERRUPTED
        finally:
            signal.signal(signal.SIGINT, previous)
        if printer.failure is not None:
            terminal.write(f"fmnist-tui train: error: {printer.failure.message}\n")
            terminal.write(f"fmnist-tui train: log: {log_path}\n")
            return EXIT_FAILED
        if not args.no_export and printer.evaluation is not None:
            try:
                files = export_all(
                    run_dir,
                    state.history,
                    printer.evaluation.evaluation,
                    printer.evaluation.test_images,
                    early_stopping=state.early_stopping,
                )
            except ExportError as error:
                terminal.write(f"fmnist-tui train: error: {error}\n")
                return EXIT_FAILED
            for path in files:
                printer.line(f"wrote {path}")
    return EXIT_INTERRUPTED if state.status == "stopped" else EXIT_OK


def summary_command(model: str) -> int:
    quiet_tensorflow_env()
    log_path = _log_path("summary")
    if log_path is None:
        return EXIT_USAGE
    with native_stderr_to(log_path):
        from core.models import build_model, summarize

        summary = summarize(build_model(model))
    print(summary.format_table())
    return EXIT_OK


def export_command(run_dir: Path, out: Path | None) -> int:
    try:
        run = load_run(run_dir)
        files = export_all(
            out or run_dir,
            run.history,
            run.evaluation,
            run.test_images,
            early_stopping=run.early_stopping,
        )
    except (RunError, ExportError) as error:
        print(f"fmnist-tui export: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for path in files:
        print(f"wrote {path}")
    return EXIT_OK


def runs_command(root: Path) -> int:
    try:
        runs = list_runs(root)
    except RunError as error:
        print(f"fmnist-tui runs: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not runs:
        print(f"no runs in {root}")
        return EXIT_OK
    header = f"{'started':<19}  {'model':<9}  {'epochs':>7}  {'status':<11}  {'test acc':>8}  run"
    print(header)
    for run in runs:
        started = run.started.strftime("%Y-%m-%d %H:%M:%S") if run.started else "?"
        accuracy = f"{run.test_accuracy:.4f}" if run.test_accuracy is not None else "-"
        epochs = f"{run.epochs}/{run.planned_epochs}" if run.planned_epochs else str(run.epochs)
        print(
            f"{started:<19}  {run.model:<9}  {epochs:>7}  {run.status:<11}  "
            f"{accuracy:>8}  {run.path}"
        )
        if run.problem:
            print(f"{'':<19}  damaged: {run.problem}")
        elif run.resumable:
            print(f"{'':<19}  resume: fmnist-tui train --resume {run.path}")
    return EXIT_OK
