"""The palette's "Predict: classify image files…" with the real engine on synthetic data: a
folder of pictures and a file that is not there, classified by the run on show's model; each
picture with its three most probable classes and the 28x28 the model saw, each bad file one
line, the others still classified."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import finish_a_run, wait_for
from PIL import Image
from textual.widgets import Input
from tui_fakes import synthetic_loader

from core.data import synthetic_raw
from core.evaluation import CLASS_NAMES
from tui.app import FmnistApp
from tui.engine import Predict, TrainingEngine
from tui.screens.predict_dialog import PredictDialog, parse_paths
from tui.screens.predictions import PredictionList, PredictionsScreen


def pictures(folder: Path) -> list[Path]:
    """Two of the synthetic test images as PNGs (one upscaled, in colour) and a broken one."""
    folder.mkdir()
    raw = synthetic_raw(train=20, test=10, seed=0)
    first = folder / "first.png"
    Image.fromarray(raw.x_test[0]).save(first)
    second = folder / "second.png"
    big = np.repeat(np.repeat(raw.x_test[1], 4, axis=0), 4, axis=1)
    Image.fromarray(np.stack([big] * 3, axis=-1)).save(second)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a PNG")
    return [first, second]


@pytest.mark.slow
def test_the_palette_classifies_a_folder_and_names_each_file_it_cannot_read(
    tmp_path: Path,
) -> None:
    engine = TrainingEngine(dataset_loader=synthetic_loader(), runs_root=tmp_path / "runs")
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)
    folder = tmp_path / "pictures"
    good = pictures(folder)
    missing = tmp_path / "no such picture.png"

    async def scenario() -> str:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 1)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Predict", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PredictDialog), "the dialog")
            field = app.screen.query_one("#predict-paths", Input)
            field.value = f"{folder} '{missing}'"
            await pilot.pause()
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, PredictionsScreen),
                "the pictures classified",
                timeout=60,
            )
            await pilot.pause()
            shown = app.screen.query_one(PredictionList).text
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, PredictionsScreen))
            return shown

    text = asyncio.run(scenario())
    asked = [c for c in engine_commands(engine) if isinstance(c, Predict)]
    assert len(asked) == 1 and asked[0].paths == (folder, missing)
    lines = text.splitlines()
    problems = [line for line in lines if line.startswith("✗")]
    assert len(problems) == 2, text
    # Each problem names its file and says why (wrapped, never cut, on a narrow screen).
    flat = " ".join(text.split())
    assert f"{folder / 'broken.png'}: not a PNG, JPEG, GIF, WebP, BMP or TIFF picture" in flat
    assert f"{missing}: no such file or folder" in flat
    for path in good:
        at = next(i for i, line in enumerate(lines) if line.rstrip().endswith(path.name))
        block = lines[at : at + 14]
        # The 28x28 the model saw: 14 lines of half blocks, 28 cells wide, left of the text.
        assert all(line.startswith("▄" * 28) for line in block), block
        ranked = [
            name
            for line in block
            for name in CLASS_NAMES
            if re.search(rf"{re.escape(name)}\s+[█▏▎▍▌▋▊▉·]*\s*[\d.]+%", line)
        ]
        assert len(ranked) == 3 and len(set(ranked)) == 3, block


def engine_commands(engine: TrainingEngine) -> list[object]:
    """What the app submitted to the engine (recorded by the test's wrapper)."""
    return getattr(engine, "submitted", [])


@pytest.fixture(autouse=True)
def record_submissions(monkeypatch: pytest.MonkeyPatch) -> None:
    submit = TrainingEngine.submit

    def recording(self: TrainingEngine, command: object) -> None:
        self.__dict__.setdefault("submitted", []).append(command)
        submit(self, command)  # type: ignore[arg-type]

    monkeypatch.setattr(TrainingEngine, "submit", recording)


def test_the_dialog_takes_paths_as_a_shell_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PICTURES", str(tmp_path))
    parsed = parse_paths("~/a.png '$PICTURES/with space.jpg' $PICTURES/folder")
    assert parsed.paths == (
        Path("~/a.png").expanduser(),
        tmp_path / "with space.jpg",
        tmp_path / "folder",
    )
    for bad in ("", "   ", "'unclosed"):
        with pytest.raises(ValueError):
            parse_paths(bad)
