"""``history.csv``: a run's epochs as Keras' ``CSVLogger`` writes them, for a spreadsheet.

The columns are Keras': ``epoch`` first, counted from 0 as Keras counts it, then the metric
names in alphabetical order, written by :mod:`csv`'s ``excel`` dialect (``\\r\\n`` line ends)
with floats as Python prints them. A value an epoch lacks reads ``NA``, as in ``CSVLogger``.
``history.json`` counts epochs from 1; the CSV keeps Keras' count so that tools made for
``CSVLogger`` files read it unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from core.errors import RunError, reraise_os_errors
from core.events import EpochMetrics
from core.files import write_text

HISTORY_CSV = "history.csv"
BASE_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")
OPTIONAL_COLUMNS = ("learning_rate",)
"""Written when any epoch has the value (older runs and metrics do not)."""


def history_rows(history: Sequence[EpochMetrics]) -> tuple[list[str], list[dict[str, object]]]:
    """The CSV's header and rows, as ``CSVLogger`` would lay them out."""
    keys = set(BASE_COLUMNS)
    for name in OPTIONAL_COLUMNS:
        if any(getattr(m, name, None) is not None for m in history):
            keys.add(name)
    columns = ["epoch", *sorted(keys)]
    rows: list[dict[str, object]] = []
    for metrics in history:
        row: dict[str, object] = {"epoch": metrics.epoch - 1}
        for key in columns[1:]:
            value = getattr(metrics, key, None)
            row[key] = "NA" if value is None else float(value)
        rows.append(row)
    return columns, rows


def format_history_csv(history: Sequence[EpochMetrics]) -> str:
    columns, rows = history_rows(history)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, dialect=csv.excel)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_history_csv(folder: Path, history: Sequence[EpochMetrics]) -> Path:
    """Write ``folder/history.csv`` atomically for ``history`` (a run folder, or where an
    export goes).

    Raises:
        RunError: the file could not be written (one line for the user).
    """
    path = folder / HISTORY_CSV
    with reraise_os_errors(RunError, f"cannot write {path}"):
        return write_text(path, format_history_csv(history))
