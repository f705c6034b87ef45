"""A study's trials side by side: a row each (number, parameters, state, best value, epochs,
duration), sorted by any column; Enter opens the trial's run.

The states are marked apart from their colours too (``✓`` complete, ``✂`` pruned, ``✗``
failed, ``●`` running, ``…`` queued), so they read in a terminal without colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from core.sweeps.watch import StudySnapshot, TrialView
from tui.progress import format_duration
from tui.sweep_text import format_value

STATE_MARKS = {
    "complete": ("✓", "green"),
    "pruned": ("✂", "yellow"),
    "failed": ("✗", "red"),
    "running": ("●", "bold"),
    "waiting": ("…", "dim"),
}
OBJECTIVE_HEADERS = {"val_accuracy": "Val acc", "val_loss": "Val loss"}


@dataclass(frozen=True, slots=True)
class TrialColumn:
    key: str
    header: str
    sort_key: Callable[[TrialView], Any]
    """Lower first, ``None`` always last."""
    numeric: bool = True
    best_first: bool = False
    """Sorted highest first unless reversed (the newest trial, the best value)."""


class TrialsTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First trial", show=False, id="trials.first"),
        Binding("end", "scroll_bottom", "Last trial", show=False, id="trials.last"),
        Binding(
            "enter",
            "select_cursor",
            "Open run",
            tooltip="Show this trial's run: its charts, mistakes and confusion matrix",
            id="trials.open",
        ),
        Binding(
            "less_than_sign",
            "sort(-1)",
            "Sort",
            key_display="<",
            tooltip="Sort by the column to the left of the one sorting now",
            show=False,
            id="trials.sort_previous",
        ),
        Binding(
            "greater_than_sign",
            "sort(1)",
            "Sort",
            key_display=">",
            tooltip="Sort by the column to the right of the one sorting now",
            show=False,
            id="trials.sort_next",
        ),
        Binding(
            "o",
            "reverse",
            "Reverse",
            tooltip="Reverse the order (the header's ▼ or ▲ shows it)",
            show=False,
            id="trials.reverse",
        ),
    ]

    class OpenTrial(Message):
        """Enter on a trial: open its run."""

        def __init__(self, trial: TrialView) -> None:
            super().__init__()
            self.trial = trial

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.snapshot: StudySnapshot | None = None
        self.trials: list[TrialView] = []
        """The trials in the order shown."""
        self.columns_shown: list[TrialColumn] = []
        self.sort_key = "number"
        self.reverse = False

    def set_study(self, snapshot: StudySnapshot | None) -> None:
        """Show ``snapshot``'s trials; the cursor stays on its trial."""
        highlighted = self.highlighted_trial()
        self.snapshot = snapshot
        self._draw(None if highlighted is None else highlighted.number)

    def highlighted_trial(self) -> TrialView | None:
        if not self.trials or not 0 <= self.cursor_row < len(self.trials):
            return None
        return self.trials[self.cursor_row]

    @property
    def sort_column(self) -> TrialColumn | None:
        return next((c for c in self.columns_shown if c.key == self.sort_key), None)

    @property
    def sort_label(self) -> str:
        column = self.sort_column
        if column is None:
            return ""
        return f"{column.header} {'▼' if column.best_first != self.reverse else '▲'}"

    def row_texts(self, row: int) -> dict[str, str]:
        """Row ``row``'s cells as plain text, by column key (``number``, ``state``...)."""
        cells = self.get_row_at(row)
        return {c.key: str(v) for c, v in zip(self.columns_shown, cells, strict=True)}

    def _draw(self, keep: int | None) -> None:
        row = self.cursor_row
        snapshot = self.snapshot
        self.columns_shown = [] if snapshot is None else _columns(snapshot)
        column = self.sort_column
        if column is None:
            self.sort_key, self.reverse = "number", False
            column = self.sort_column
        trials = list(snapshot.trials) if snapshot is not None else []
        if column is not None:
            trials = _sorted(trials, column, reverse=column.best_first != self.reverse)
        same_layout = [t.number for t in trials] == [t.number for t in self.trials] and [
            c.key for c in self.columns_shown
        ] == [str(k.value) for k in self.columns]
        self.trials = trials
        if same_layout and self.header_labels() == self._labels(column):
            # A poll that changed values only (a running trial's time, its best so far):
            # the cells change in place, with no flicker and no scrolling.
            for trial in trials:
                for c in self.columns_shown:
                    value = _cell(c, trial)
                    if str(self.get_cell(str(trial.number), c.key)) != str(value):
                        self.update_cell(str(trial.number), c.key, value, update_width=True)
            return
        self.clear(columns=True)
        for c in self.columns_shown:
            label = self.sort_label if c is column else c.header
            self.add_column(Text(label, justify="right") if c.numeric else Text(label), key=c.key)
        for trial in trials:
            self.add_row(*(_cell(c, trial) for c in self.columns_shown), key=str(trial.number))
        numbers = [t.number for t in trials]
        if keep in numbers:
            row = numbers.index(keep)
        if trials:
            self.move_cursor(row=min(row, len(trials) - 1), animate=False)

    def header_labels(self) -> list[str]:
        return [str(column.label) for column in self.columns.values()]

    def _labels(self, sorting: TrialColumn | None) -> list[str]:
        return [self.sort_label if c is sorting else c.header for c in self.columns_shown]

    def action_sort(self, step: int) -> None:
        columns = self.columns_shown
        if not columns:
            return
        keys = [c.key for c in columns]
        index = keys.index(self.sort_key) if self.sort_key in keys else 0
        self._sort_by(keys[(index + step) % len(keys)], reverse=False)

    def action_reverse(self) -> None:
        self._sort_by(self.sort_key, reverse=not self.reverse)

    def _sort_by(self, key: str, *, reverse: bool) -> None:
        highlighted = self.highlighted_trial()
        self.sort_key, self.reverse = key, reverse
        self._draw(None if highlighted is None else highlighted.number)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = str(event.column_key.value)
        self._sort_by(key, reverse=not self.reverse if key == self.sort_key else False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        trial = self.highlighted_trial()
        if trial is not None:
            self.post_message(self.OpenTrial(trial))


def _columns(snapshot: StudySnapshot) -> list[TrialColumn]:
    params = list(dict.fromkeys(name for trial in snapshot.trials for name in trial.params))
    maximize = snapshot.direction == "maximize"
    objective = snapshot.objective or "value"
    columns = [TrialColumn("number", "#", lambda t: t.number, best_first=True)]
    for name in params:
        numeric = all(_is_number(t.params[name]) for t in snapshot.trials if name in t.params)
        columns.append(
            TrialColumn(f"param:{name}", name, _param_key(name, numeric), numeric=numeric)
        )
    columns += [
        TrialColumn("state", "State", lambda t: t.state, numeric=False),
        TrialColumn(
            "value",
            OBJECTIVE_HEADERS.get(objective, objective),
            lambda t: t.value if t.value is not None and math.isfinite(t.value) else None,
            best_first=maximize,
        ),
        TrialColumn("epochs", "Epochs", lambda t: t.epochs_done),
        TrialColumn("duration", "Time", lambda t: t.duration_s),
    ]
    return columns


def _param_key(name: str, numeric: bool) -> Callable[[TrialView], Any]:
    def key(trial: TrialView) -> Any:
        value = trial.params.get(name)
        if value is None:
            return None
        return float(value) if numeric else format_value(value)

    return key


def _sorted(trials: list[TrialView], column: TrialColumn, *, reverse: bool) -> list[TrialView]:
    """By ``column``, the trials without a value last either way; ties by number."""
    known = [t for t in trials if column.sort_key(t) is not None]
    unknown = [t for t in trials if column.sort_key(t) is None]
    known.sort(key=lambda t: (column.sort_key(t), t.number), reverse=reverse)
    unknown.sort(key=lambda t: t.number)
    return known + unknown


def _cell(column: TrialColumn, trial: TrialView) -> str | Text:
    key = column.key
    if key == "state":
        mark, style = STATE_MARKS.get(trial.state, ("?", ""))
        marked = Text(f"{mark} {trial.state}", style=style)
        if trial.retry_of is not None:
            marked.append(f" ↻{trial.retry_of}", style="dim")
        return marked
    if key == "number":
        text = str(trial.number)
    elif key == "value":
        value = trial.value
        text = f"{value:.4f}" if value is not None and math.isfinite(value) else "-"
    elif key == "epochs":
        text = str(trial.epochs_done)
    elif key == "duration":
        text = "-" if trial.duration_s is None else format_duration(trial.duration_s)
    else:
        value = trial.params.get(key.removeprefix("param:"))
        text = "-" if value is None else format_value(value)
    return Text(text, justify="right") if column.numeric else text


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
