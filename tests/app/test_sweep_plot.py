"""What the Sweep tab's two plots show, from a study's snapshot: each trial's value over the
trial numbers with the best so far, and against the most important parameter (a log axis for
one sampled on a log scale, a column per choice for a choice)."""

from __future__ import annotations

from core.sweeps.watch import StudySnapshot, TrialView
from tui.widgets.sweep_plot import _ticks, against_param, over_trials, plotted_param


def trial(number: int, state: str, value: float | None, **params: object) -> TrialView:
    return TrialView(number, state, params, value, 2, 10.0, None)


TRIALS = (
    trial(0, "complete", 0.80, learning_rate=0.001, optimizer="adamw"),
    trial(1, "complete", 0.85, learning_rate=0.01, optimizer="sgd"),
    trial(2, "pruned", 0.40, learning_rate=0.0001, optimizer="sgd"),
    trial(3, "failed", None, learning_rate=0.002, optimizer="adamw"),
    trial(4, "running", 0.70, learning_rate=0.003, optimizer="adamw"),
    trial(5, "waiting", None, learning_rate=0.002, optimizer="adamw"),
)


def snapshot(importances: tuple[tuple[str, float], ...] | None) -> StudySnapshot:
    return StudySnapshot(
        "s",
        "maximize",
        "val_accuracy",
        TRIALS,
        TRIALS[1],
        ((0, 0.80, 0.80), (1, 0.85, 0.85)),
        importances,
        log_params=frozenset({"learning_rate"}),
    )


def test_over_the_trials_each_trial_with_a_value_and_the_best_so_far() -> None:
    data = over_trials(snapshot(None), "val_accuracy")
    assert data.title == "val_accuracy by trial"
    assert data.points == (
        ("complete", 0.0, 0.80),
        ("complete", 1.0, 0.85),
        ("pruned", 2.0, 0.40),
        ("running", 4.0, 0.70),
    )
    assert data.best == ((0.0, 0.80), (1.0, 0.85))


def test_against_the_most_important_parameter_once_importances_come() -> None:
    """Mutation: ``plotted_param`` taking the first parameter whatever the importances."""
    study = snapshot((("optimizer", 0.7), ("learning_rate", 0.3)))
    assert plotted_param(study) == "optimizer"
    data = against_param(study, "val_accuracy", plotted_param(study))
    assert data.title == "val_accuracy vs optimizer (most important)"
    assert data.choices == ("adamw", "sgd")
    assert [(state, x) for state, x, _ in data.points] == [
        ("complete", 0.0),
        ("complete", 1.0),
        ("pruned", 1.0),
        ("running", 0.0),
    ]
    # Before there are importances: the first parameter, and no claim that it matters most.
    early = snapshot(None)
    assert plotted_param(early) == "learning_rate"
    data = against_param(early, "val_accuracy", "learning_rate")
    assert data.title == "val_accuracy vs learning_rate"
    assert data.log_x  # sampled on a log scale
    assert [x for _, x, _ in data.points] == [0.001, 0.01, 0.0001, 0.003]


def test_trial_numbers_are_labelled_as_whole_numbers_even_alone() -> None:
    """One trial on the plot: its number reads 0, not 0.00 (mutation: the single-value
    label without ``whole``)."""
    assert _ticks(0.0, 0.0, 6, whole=True) == ([0.0], ["0"])
    values, labels = _ticks(0.0, 5.0, 6, whole=True)
    assert labels == ["0", "1", "2", "3", "4", "5"] and values[-1] == 5.0
