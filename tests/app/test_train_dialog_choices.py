"""The Train dialog cannot train the wrong run: it continues the run on show, takes typed keys
where the focus is, follows the model chosen, and explains what it cannot continue.

Each test names the issue's problem it guards against; the keys arrive in one burst, as over
SSH (``tests/app/test_key_bursts.py``'s ``burst``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpers import finish_a_run, text_of, wait_for
from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label, RadioButton, Select, Static
from tui_fakes import FAKE_RUN_ID, ScriptedEngine, fake_metrics, missing_runs_dir

from core.config import TrainConfig
from core.requests import ContinueRun, NewRun, ResumeRun
from core.runs.catalogue import SavedRun
from core.runs.checkpoints import Checkpoint
from tui.app import FmnistApp
from tui.messages import Reported
from tui.reports import RunLoaded
from tui.screens.train_dialog import TrainDialog

OTHER_RUN = "20251231-090000-seed-deep"


def burst(app: App[Any], *keys: str) -> None:
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def settle(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app, "keys_pending", 0) == 0, "keys", timeout=10)
    await pilot.pause()


def saved_run(tmp_path: Path, *, with_checkpoint: bool) -> SavedRun:
    """Run B on disk, as the Runs tab would read it (a stopped seed-deep run, 3 of 6 epochs)."""
    config = TrainConfig(epochs=6, model="seed-deep")
    history = tuple(fake_metrics(e) for e in (1, 2, 3))
    path = tmp_path / OTHER_RUN
    checkpoint = None
    if with_checkpoint:
        checkpoint = Checkpoint(
            path=path / "checkpoints" / "epoch-0003",
            epoch=3,
            planned_epochs=6,
            schedule_end=6,
            config=config,
            history=history,
        )
    return SavedRun(
        path=path,
        config=config,
        history=history,
        status="stopped",
        planned_epochs=6,
        metrics=None,
        evaluation=None,
        test_images=None,
        checkpoint=checkpoint,
    )


def fresh_app() -> tuple[FmnistApp, ScriptedEngine]:
    engine = ScriptedEngine()
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False), engine


async def open_dialog(pilot: Pilot[Any]) -> TrainDialog:
    burst(pilot.app, "t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog), "the dialog")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TrainDialog)
    return pilot.app.screen


def requests(engine: ScriptedEngine) -> list[object]:
    return [c for c in engine.received if isinstance(c, NewRun | ContinueRun | ResumeRun)]


def test_continue_offers_the_run_on_show_not_the_last_one_trained(tmp_path: Path) -> None:
    """Problem 1: train run A, open run B (the title shows B), `t`, Enter: A trained further."""
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 2)
            app.post_message(Reported(RunLoaded(saved_run(tmp_path, with_checkpoint=True))))
            await wait_for(pilot, lambda: app.state.shown is not None and app.state.shown.saved)
            dialog = await open_dialog(pilot)
            label = str(dialog.query_one("#mode-continue", RadioButton).label)
            assert OTHER_RUN in label and FAKE_RUN_ID not in label
            assert "3 epochs done" in label
            burst(app, "ctrl+u", "2", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: len(requests(engine)) == 2, "the request")
            assert requests(engine)[-1] == ResumeRun(tmp_path / OTHER_RUN, 2)

    asyncio.run(scenario())


def test_a_run_that_cannot_continue_says_why_and_starts_nothing_by_itself(
    tmp_path: Path,
) -> None:
    """Problem 1, second half: after `r` was refused on a run with no checkpoint, `t` offered
    "Continue … (0 epochs done)" and choosing it silently started a new run."""
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            app.post_message(Reported(RunLoaded(saved_run(tmp_path, with_checkpoint=False))))
            await wait_for(pilot, lambda: app.state.shown is not None)
            dialog = await open_dialog(pilot)
            assert dialog.query_one("#mode-continue", RadioButton).disabled
            assert dialog.query_one("#mode-new", RadioButton).value
            refusal = str(dialog.query_one("#continue-refusal", Static).render())
            assert "no checkpoint" in refusal
            burst(app, "up", "enter")  # Up cannot choose the disabled "Continue"
            await settle(pilot)
            await wait_for(pilot, lambda: bool(requests(engine)), "the request")
            assert isinstance(requests(engine)[-1], NewRun)

    asyncio.run(scenario())


def test_typed_keys_go_to_the_focused_field_and_tab_follows_the_screen() -> None:
    """Problem 2: `t C-u 1 Tab 128 Enter` (meant: 1 epoch at batch 128) gave "epochs 3-130,
    batch size 32": the focus was on the continue/new choice while digits went to Epochs."""
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 2)
            burst(app, "t", "ctrl+u", "1", "tab", "1", "2", "8", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: len(requests(engine)) == 2, "the request")
            assert requests(engine)[-1] == ContinueRun(1, 128)

    asyncio.run(scenario())


def test_up_on_continue_does_not_wrap_round_to_a_new_run() -> None:
    """Problem 2: Up on "Continue" wrapped to "Start a new run", so `t Up Enter` started anew."""
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 2)
            dialog = await open_dialog(pilot)
            burst(app, "shift+tab", "up", "up")
            await settle(pilot)
            assert dialog.query_one("#mode-continue", RadioButton).value
            burst(app, "down", "down")
            await settle(pilot)
            assert dialog.query_one("#mode-new", RadioButton).value, "Down chooses anew"
            burst(app, "up", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: len(requests(engine)) == 2, "the request")
            assert isinstance(requests(engine)[-1], ContinueRun)

    asyncio.run(scenario())


def test_the_fields_follow_the_model_chosen() -> None:
    """Problem 4: after choosing `improved`, Augment still read "off" (the preset always
    augments), and its batch size and training settings were the seed's."""
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            dialog = await open_dialog(pilot)
            model = dialog.query_one("#model", Input)
            model.value = "improved"
            await pilot.pause()
            assert dialog.query_one("#batch-size", Input).value == "128"
            augment: Select[str] = dialog.query_one("#augment", Select)
            assert augment.value == "flip" and augment.disabled
            assert dialog.query_one("#learning-rate", Input).value == "0.003"
            assert dialog.query_one("#optimizer", Select).value == "adamw"
            assert dialog.query_one("#schedule", Select).value == "cosine"
            # A value the user typed stays when the model changes again.
            dialog.query_one("#learning-rate", Input).value = "0.01"
            model.value = "seed"
            await pilot.pause()
            assert dialog.query_one("#batch-size", Input).value == "32"
            assert dialog.query_one("#learning-rate", Input).value == "0.01"
            assert not dialog.query_one("#augment", Select).disabled
            burst(app, "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: bool(requests(engine)), "the request")
            (request,) = requests(engine)
            assert isinstance(request, NewRun)
            assert request.config.model == "seed" and request.config.batch_size == 32
            assert request.config.training.learning_rate == 0.01

    asyncio.run(scenario())


def test_a_bad_training_setting_is_explained_in_its_fold() -> None:
    app, engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            dialog = await open_dialog(pilot)
            dialog.query_one("#learning-rate", Input).value = "1e308"
            await pilot.pause()
            burst(app, "enter")
            await settle(pilot)
            assert isinstance(app.screen, TrainDialog), "nothing started"
            error = str(dialog.query_one("#learning-rate-error", Static).render())
            assert error == "Learning rate must be at most 1000, got 1e+308"
            assert not dialog.query_one("#training").collapsed  # type: ignore[attr-defined]
            assert not requests(engine)

    asyncio.run(scenario())


def test_every_field_label_reads_in_full_with_a_gap_before_its_field() -> None:
    app, _engine = fresh_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            dialog = await open_dialog(pilot)
            dialog.query_one("#training").collapsed = False  # type: ignore[attr-defined]
            dialog.query_one("#learning-rate", Input).value = "x"
            burst(app, "enter")
            await settle(pilot)
            labels = list(dialog.query(".field .field-label").results(Label))
            assert len(labels) >= 10
            for label in labels:
                name = str(label.render())
                field = label.parent.children[1]  # type: ignore[union-attr]
                assert text_of(label).strip() == name, f"{name!r} is cut"
                assert field.region.x > label.region.x + len(name), f"{name!r} touches its field"
            error = dialog.query_one("#learning-rate-error", Static)
            assert error.region.x == dialog.query_one("#learning-rate", Input).region.x

    asyncio.run(scenario())
