"""A study's objective as points: over the trial numbers, or against one parameter.

Complete trials are ``●``, pruned ones ``×`` (their value is the best they reported before
the pruner ended them), trials still running ``○``; over the trials, a line follows the best
value so far. Against a parameter sampled on a log scale the x axis is logarithmic, against a
choice it has a column per choice. The figure is built when the plot is painted, and only
again once its points or its size change (plotext rebuilds everything on every call).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from core.sweeps.watch import StudySnapshot
from tui.sweep_text import format_value

COMPLETE: Final = ("●", 39)
"""Marker and xterm-256 colour (DeepSkyBlue1) of a complete trial."""
PRUNED: Final = ("×", 208)
"""DarkOrange: a pruned trial."""
RUNNING: Final = ("○", 250)
"""Grey74: a trial still running, at its best value so far."""
BEST_COLOUR: Final = 114
"""PaleGreen3: the best value so far."""
SHOWN_STATES: Final = {"complete": COMPLETE, "pruned": PRUNED, "running": RUNNING}
NO_VALUE: Final = "No trial has a value yet"


@dataclass(frozen=True, slots=True)
class PlotData:
    """What one plot shows, in plain values (its equality decides a redraw)."""

    title: str
    points: tuple[tuple[str, float, float], ...] = ()
    """``(state, x, y)`` for each trial shown."""
    best: tuple[tuple[float, float], ...] = ()
    """The best value so far, by trial number (the plot over the trials only)."""
    log_x: bool = False
    choices: tuple[str, ...] = ()
    """Against a choice: its values, one x position each (``x`` is the index)."""
    empty: str = ""
    """What the plot says when it has no point."""
    short_title: str = ""
    """The title where the whole one does not fit."""


def over_trials(snapshot: StudySnapshot, objective: str) -> PlotData:
    """Each trial's value by its number, and the best so far."""
    points = tuple(
        (trial.state, float(trial.number), float(trial.value))
        for trial in snapshot.trials
        if trial.state in SHOWN_STATES and trial.value is not None and math.isfinite(trial.value)
    )
    best = tuple((float(number), best) for number, _, best in snapshot.objective_over_trials)
    return PlotData(f"{objective} by trial", points, best, empty=NO_VALUE)


def against_param(snapshot: StudySnapshot, objective: str, param: str | None) -> PlotData:
    """Each trial's value against ``param`` (numbers on their own scale, choices apart)."""
    if param is None:
        return PlotData(f"{objective} against a parameter", empty="Nothing varies")
    trials = [
        (t, float(t.value))
        for t in snapshot.trials
        if t.state in SHOWN_STATES and t.value is not None and math.isfinite(t.value)
        if param in t.params
    ]
    important = snapshot.importances is not None and snapshot.importances[0][0] == param
    short = f"{objective} vs {param}"
    title = short + (" (most important)" if important else "")
    if all(_is_number(t.params[param]) for t, _ in trials):
        log_x = param in snapshot.log_params
        points = tuple(
            (t.state, float(t.params[param]), value)
            for t, value in trials
            if not log_x or float(t.params[param]) > 0
        )
        return PlotData(title, points, log_x=log_x, empty=NO_VALUE, short_title=short)
    labels = [format_value(t.params[param]) for t, _ in trials]
    choices = tuple(dict.fromkeys(labels))
    points = tuple(
        (t.state, float(choices.index(label)), value)
        for (t, value), label in zip(trials, labels, strict=True)
    )
    return PlotData(title, points, choices=choices, empty=NO_VALUE, short_title=short)


def plotted_param(snapshot: StudySnapshot) -> str | None:
    """The parameter to plot against: the most important, else the first that varies."""
    if snapshot.importances:
        return snapshot.importances[0][0]
    for trial in snapshot.trials:
        for name in trial.params:
            return name
    return None


class SweepPlot(PlotextPlot):
    """One of the Sweep tab's two plots; :meth:`show` gives it its points."""

    DEFAULT_CSS = """
    SweepPlot {
        height: 1fr;
        width: 1fr;
        min-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = PlotData("")
        self._generation = 0
        self._rendered: tuple[tuple[object, ...], RenderResult] | None = None

    def show(self, data: PlotData) -> None:
        if data != self.data:
            self.data = data
            self._generation += 1
            self.refresh()

    def render(self) -> RenderResult:
        key = (self._generation, self.size.width, self.size.height, self.app.theme, self.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._replot()
            self._rendered = (key, super().render())
        return self._rendered[1]

    def _replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        data = self.data
        fits = len(data.title) <= self.size.width - 2 or not data.short_title
        plt.title(data.title if fits else data.short_title)
        plt.xscale("log" if data.log_x else "linear")
        if not data.points:
            plt.xticks([], [])
            plt.yticks([], [])
            plt.text(data.empty, 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            return
        xs = [x for _, x, _ in data.points]
        ys = [y for _, _, y in data.points] + [y for _, y in data.best]
        plt.ylim(*_padded(min(ys), max(ys)))
        plt.yticks(*_ticks(min(ys), max(ys), 4))
        if data.choices:
            plt.xlim(-0.5, len(data.choices) - 0.5)
            plt.xticks(list(range(len(data.choices))), list(data.choices))
        elif data.log_x:
            low, high = math.log10(min(xs)), math.log10(max(xs))
            margin = max((high - low) * 0.05, 0.05)
            plt.xlim(low - margin, high + margin)
            ticks = _log_ticks(min(xs), max(xs))
            plt.xticks(ticks, [f"{t:g}" for t in ticks])
        else:
            plt.xlim(*_padded(min(xs), max(xs)))
            plt.xticks(*_ticks(min(xs), max(xs), 6, whole=data.best != ()))
        if len(data.best) > 1:
            bx, by = zip(*_steps(data.best), strict=True)
            plt.plot(bx, by, color=BEST_COLOUR, marker="braille")
        for state, (marker, colour) in SHOWN_STATES.items():
            series = [(x, y) for s, x, y in data.points if s == state]
            if series:
                sx, sy = zip(*series, strict=True)
                plt.scatter(sx, sy, color=colour, marker=marker)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _padded(low: float, high: float) -> tuple[float, float]:
    span = high - low
    margin = span * 0.05 if span > 0 else max(abs(low) * 0.05, 0.01)
    return low - margin, high + margin


def _ticks(
    low: float, high: float, most: int, *, whole: bool = False
) -> tuple[list[float], list[str]]:
    """Up to ``most`` round values from ``low`` to ``high``, and their labels."""
    if high <= low:
        return [low], [_label(low, 1.0 if whole else abs(low) / 10 or 0.1)]
    raw = (high - low) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(1.0, round(step))
    first = math.ceil(low / step) * step
    values = []
    value = first
    while value <= high + step * 1e-9:
        values.append(value)
        value += step
    return values, [_label(v, step) for v in values]


def _log_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round values from ``low`` to ``high`` (both above 0) for a log axis: the powers of
    ten, with 2 and 5 or 3 times them where there is room."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    chosen: list[float] = []
    for mantissas in ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0)):
        ticks = [
            float(f"{m * 10**k:.12g}")
            for k in range(first, last + 1)
            for m in mantissas
            if low <= m * 10**k <= high
        ]
        if len(ticks) > most:
            break
        chosen = ticks
    return chosen or [float(f"{low:.2g}"), float(f"{high:.2g}")]


def _label(value: float, step: float) -> str:
    if step >= 1 and float(value).is_integer():
        return str(int(value))
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 2
    return f"{value:.{decimals}f}"


def _steps(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A line that holds each best value until the trial that beat it."""
    out: list[tuple[float, float]] = []
    for x, y in points:
        if out:
            out.append((x, out[-1][1]))
        out.append((x, y))
    return out
