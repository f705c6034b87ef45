"""The Sweep tab: one Optuna study, live, whoever runs its trials (this app, other processes,
other machines): its trials side by side, the best one, the objective over the trials and
against the most important parameter, and how much each parameter matters.

The study is read, never written (:mod:`core.sweeps.watch`), in a thread worker every
:data:`POLL_S` seconds while the tab is on show, and not at all while it is hidden: showing it
reads it at once (a poll of the journal costs about 2 ms, of PostgreSQL a few). A storage that
cannot be read (a database down) is said in the heading, and the tab keeps polling. Enter on
a trial opens its run as the Runs tab opens one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Select, Static

from core.files import one_line
from core.sweeps.watch import MIN_TRIALS_FOR_IMPORTANCE, StudySnapshot
from tui.messages import Reported
from tui.reports import RunLoaded, StudiesListed, StudyPolled, StudyUnreachable, WorkFailed
from tui.screens.help import key_rows
from tui.sweep_text import format_params
from tui.tabs.base import AppTab, HelpRow, PaletteCommand, TabContext
from tui.widgets.sweep_plot import SweepPlot, against_param, over_trials, plotted_param
from tui.widgets.sweep_table import STATE_MARKS, TrialsTable

if TYPE_CHECKING:
    from tui.state import AppState, Changes, WatchedStudy

POLL_S: Final = 2.0
"""How often the study on show is read while the tab is on show."""
LIST_EVERY: Final = 5
"""The storage's studies are listed again every this many polls (and on show)."""
OPEN_FAILED = "The trial's run could not be opened"


class SweepTab(AppTab):
    tab_id: ClassVar[str] = "sweep"
    title: ClassVar[str] = "Sweep"
    focus_selector: ClassVar[str] = "#sweep-trials"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (
        ("#sweep-trials", TrialsTable),
        ("#sweep-study", Select),
        ("#sweep-heading", Static),
        ("#sweep-best", Static),
        ("#sweep-importance", Static),
        ("#sweep-over-trials", SweepPlot),
        ("#sweep-against", SweepPlot),
    )
    help_title: ClassVar[str | None] = "Sweep tab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "p",
            "pick_study",
            "Study",
            tooltip="Pick another study of the storage on show",
            id="sweep.pick_study",
        ),
    ]
    # Narrow: the trials over the two plots side by side; wide: the plots stacked on the
    # right of the trials.
    DEFAULT_CSS = """
    #sweep-top {
        height: 1;
    }
    #sweep-study {
        width: 32;
    }
    #sweep-heading, #sweep-best, #sweep-importance {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #sweep-heading, #sweep-importance {
        color: $text-muted;
    }
    #sweep-heading.-problem {
        color: $warning;
    }
    #sweep-body {
        height: 1fr;
        layout: vertical;
    }
    #sweep-trials {
        height: 1fr;
    }
    #sweep-plots {
        height: 1fr;
        layout: horizontal;
    }
    Screen.-wide #sweep-body {
        layout: horizontal;
    }
    Screen.-wide #sweep-plots {
        width: 2fr;
        height: 1fr;
        layout: vertical;
    }
    Screen.-wide #sweep-trials {
        width: 3fr;
    }
    """

    class WatchRequested(Message):
        """The user picked another study of the storage on show."""

        def __init__(self, storage: str, study: str) -> None:
            super().__init__()
            self.storage = storage
            self.study = study

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(number, state, context)
        self.runs_dir = context.runs_dir
        self.polls = 0
        """Polls started (for tests: the tab goes on polling an unreachable storage)."""
        self.ticks = 0
        """Turns of the polling timer, shown or hidden."""
        self._in_flight = False
        """A poll's worker is reading the storage: a tick does not start another."""
        self._polled: WatchedStudy | None = None
        """What the last poll was for: a change of study polls at once."""
        self._listed: tuple[tuple[str, int], ...] | None = None
        """The studies the picker lists, with their trial counts."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="sweep-top"):
            yield Select[str]([], prompt="Study", id="sweep-study", compact=True, allow_blank=True)
            yield Static("Reading the runs folder's studies…", id="sweep-heading", markup=False)
        yield Static("", id="sweep-best", markup=False)
        yield Static("", id="sweep-importance", markup=False)
        with Container(id="sweep-body"):
            yield TrialsTable(id="sweep-trials")
            with Container(id="sweep-plots"):
                yield SweepPlot(id="sweep-over-trials")
                yield SweepPlot(id="sweep-against")

    def on_mount(self) -> None:
        self.set_interval(POLL_S, self._tick)

    @property
    def table(self) -> TrialsTable:
        return self.widget("#sweep-trials", TrialsTable)

    # --- Polling ----------------------------------------------------------------------------

    @property
    def on_show_now(self) -> bool:
        """The tab is the one on show (its pane is displayed)."""
        return self.display and self.is_attached

    def on_show(self, event: events.Show) -> None:
        # Shown again: read the study now rather than at the next tick.
        self.poll(listing=True)

    def _tick(self) -> None:
        self.ticks += 1
        if self.on_show_now:
            self.poll(listing=self.polls % LIST_EVERY == 0)

    def poll(self, *, listing: bool = False) -> None:
        """Read the watched study (and list the storage's studies) in a thread, unless a
        poll is still reading (an unreachable database can take seconds to say so)."""
        if self._in_flight:
            return
        watched = self.state.watched
        self._in_flight = True
        self._polled = watched
        self.polls += 1
        self._read(watched.storage, watched.study, listing or watched.study is None)

    @work(thread=True, exit_on_error=False, group="sweep-poll", name="read the study")
    def _read(self, storage: str, study: str | None, listing: bool) -> None:
        from core.sweeps import watch
        from core.sweeps.errors import SweepError
        from core.sweeps.storage import parse_storage

        try:
            if listing:
                shown = parse_storage(storage, self.runs_dir).shown
                studies = tuple(watch.list_studies(storage, runs_dir=self.runs_dir))
                self.post_message(Reported(StudiesListed(storage, shown, studies)))
                if study is None and studies:
                    study = studies[-1].name
            if study is not None:
                snapshot = watch.study_snapshot(storage, study, runs_dir=self.runs_dir)
                self.post_message(Reported(StudyPolled(storage, snapshot)))
        except SweepError as error:
            self.post_message(Reported(StudyUnreachable(storage, study, str(error))))
        except Exception as error:  # noqa: BLE001 - whatever a poll meets is a line, not a crash
            self.post_message(Reported(StudyUnreachable(storage, study, one_line(error))))
        finally:
            self._in_flight = False

    # --- Drawing ----------------------------------------------------------------------------

    def apply(self, changes: Changes, state: AppState) -> None:
        if not changes.sweep:
            return
        if state.watched != self._polled and self.on_show_now:
            self.poll(listing=state.watched.storage != getattr(self._polled, "storage", None))
        self._draw_studies(state)
        self._draw_heading(state)
        study = state.study
        self._draw_best(study)
        self._draw_importance(study)
        self.table.set_study(study)
        objective = (study.objective if study is not None else None) or "value"
        over = self.widget("#sweep-over-trials", SweepPlot)
        against = self.widget("#sweep-against", SweepPlot)
        if study is None:
            over.show(over_trials(_EMPTY, objective))
            against.show(against_param(_EMPTY, objective, None))
            return
        over.show(over_trials(study, objective))
        against.show(against_param(study, objective, plotted_param(study)))

    def _draw_studies(self, state: AppState) -> None:
        select: Select[str] = self.widget("#sweep-study", Select)
        names = tuple(s.name for s in state.studies)
        listed = tuple((s.name, s.trials) for s in state.studies)
        # The labels carry each study's trial count; an open list is left alone until it
        # closes (resetting it would move the highlight under the user's cursor).
        if listed != self._listed and not select.expanded:
            self._listed = listed
            with self.prevent(Select.Changed):
                select.set_options((f"{s.name} ({s.trials})", s.name) for s in state.studies)
        study = state.watched.study
        if study in names and select.value != study:
            with self.prevent(Select.Changed):
                select.value = study

    @on(Select.Changed, "#sweep-study")
    def _study_chosen(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if isinstance(value, str) and value != self.state.watched.study:
            self.post_message(self.WatchRequested(self.state.watched.storage, value))
        self.table.focus()

    def action_pick_study(self) -> None:
        """Open the study picker (the storage's studies, each with its number of trials)."""
        select: Select[str] = self.widget("#sweep-study", Select)
        if not self.state.studies:
            self.notify("No study to pick yet", severity="warning")
            return
        select.focus()
        select.expanded = True

    def _draw_heading(self, state: AppState) -> None:
        heading = self.widget("#sweep-heading", Static)
        where = state.storage_shown or (state.watched.storage or "the runs folder's journal")
        study = state.study
        heading.set_class(state.study_problem is not None, "-problem")
        if state.study_problem is not None:
            text = f"⚠ trying again every {POLL_S:g} s: {state.study_problem}"
        elif study is None:
            if state.watched.study is not None:
                text = f"Reading study {state.watched.study} in {where}…"
            elif state.storage_shown is not None and not state.studies:
                text = (
                    "No study yet: fmnist-tui sweep SPACE.toml, or ctrl+p Sweep: run a space "
                    f"file… · in {where}"
                )
            else:
                text = f"Reading the studies in {where}…"
        else:
            counts = {name: 0 for name in STATE_MARKS}
            for trial in study.trials:
                counts[trial.state] = counts.get(trial.state, 0) + 1
            states = " ".join(
                f"{count} {STATE_MARKS[name][0]}" for name, count in counts.items() if count
            )
            objective = study.objective or "its objective"
            trials = len(study.trials)
            text = (
                f"{study.direction}s {objective} · {trials} trial{'s' if trials != 1 else ''}"
                f"{': ' + states if states else ''} · {where}"
            )
        heading.update(text)
        heading.tooltip = text  # a long one is cut short on the line

    def _draw_best(self, study: StudySnapshot | None) -> None:
        line = self.widget("#sweep-best", Static)
        best = study.best if study is not None else None
        if study is None or best is None or best.value is None:
            line.update("Best: no complete trial yet" if study is not None else "")
            return
        text = Text("Best: ", style="bold")
        text.append(f"trial {best.number} · {study.objective or 'value'} ")
        text.append(f"{best.value:.4f}", style="bold green")
        if best.params:
            text.append(f" · {format_params(best.params)}")
        epochs = best.epochs_done
        text.append(f" · {epochs} epoch{'s' if epochs != 1 else ''}")
        if best.run_dir is not None:
            text.append(f" · {Path(best.run_dir).name}")
        line.update(text)

    def _draw_importance(self, study: StudySnapshot | None) -> None:
        line = self.widget("#sweep-importance", Static)
        if study is None:
            line.update("")
        elif study.importances:
            shares = " · ".join(f"{name} {share:.0%}" for name, share in study.importances)
            line.update(f"Importance (PED-ANOVA): {shares}")
        else:
            complete = sum(1 for t in study.trials if t.state == "complete")
            line.update(
                f"Importance: once {MIN_TRIALS_FOR_IMPORTANCE} trials are complete "
                f"({complete} so far)"
            )

    # --- Opening a trial's run --------------------------------------------------------------

    @on(TrialsTable.OpenTrial)
    def _open_trial(self, message: TrialsTable.OpenTrial) -> None:
        message.stop()
        trial = message.trial
        if trial.run_dir is None:
            self.notify(f"Trial {trial.number} has no run folder yet", severity="warning")
            return
        if self.state.training:
            self.notify("Stop training before opening another run", severity="warning")
            return
        path = Path(trial.run_dir)
        if not path.is_dir():
            self.notify(
                f"Trial {trial.number}'s run {path} is not on this machine: its worker's "
                "machine keeps it",
                severity="warning",
            )
            return
        self._load_run(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", name="open trial")
    def _load_run(self, path: Path) -> None:
        from core.errors import RunError
        from core.runs.catalogue import load_run

        try:
            self.post_message(Reported(RunLoaded(load_run(path))))
        except RunError as error:
            self.post_message(Reported(WorkFailed(OPEN_FAILED, str(error))))

    # --- Help and palette -------------------------------------------------------------------

    def help_rows(self) -> list[HelpRow]:
        return [
            ("↑ / ↓", "Move"),
            *key_rows(self.BINDINGS),
            *key_rows(TrialsTable.BINDINGS),
        ]

    def commands(self) -> list[PaletteCommand]:
        return [
            (
                "Sweep: watch a study by storage URL…",
                "A PostgreSQL URL or a journal file, and a study: the Sweep tab shows it live",
                "watch_study",
            ),
            (
                "Sweep: run a space file…",
                "Run a sweep's trials here, one after another (s stops after the current one)",
                "run_sweep",
            ),
        ]


_EMPTY: Final = StudySnapshot("", "maximize", None, (), None, (), None)
