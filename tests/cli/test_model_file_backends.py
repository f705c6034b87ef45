"""A model file on every backend: ``fmnist-tui --backend X train --model PATH.py`` killed with
SIGKILL after its epoch-2 checkpoint resumes from the run folder's own ``model.py``, whatever
became of the user's file, and trains as an uninterrupted run of the same file does.

Two files: the user's copy of ``examples/seed.py`` (edited after the kill: a resume that read
it would build another model) and the seed with a layer class of the user's own (deleted after
the kill: the checkpoint's layer can only come from the run's copy). Each backend runs in
processes of its own, as ``tests/cli/test_backends.py`` does for the presets.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import ALL_BACKENDS, cli, env_for, fmnist_tui, wait_for_checkpoint, write_data_dir

from core.data import synthetic_raw
from core.model_files import SOURCE_COPY
from core.runs.catalogue import list_runs, load_run
from core.runs.layout import HISTORY_JSON

ROOT = Path(__file__).resolve().parents[2]
SEED_FILE = ROOT / "examples" / "seed.py"
EPOCHS = 3
SEED_PARAMS = 394_530

CUSTOM_LAYER = '''\
"""The seed with a layer of the user's own: one learned number scales the dense features."""

import keras
from keras import layers


class LearnedScale(layers.Layer):
    """Multiplies its input by a learned scalar that starts at ``initial``."""

    def __init__(self, initial=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape):
        self.factor = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial), name="factor"
        )

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "initial": self.initial}


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            LearnedScale(0.5, name="learned_scale"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="seed_scaled",
    )
'''


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough that an epoch takes a moment, so the kill lands inside epoch 3."""
    raw = synthetic_raw(train=6000, test=300, seed=1)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


def users_file(tmp_path: Path, model: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    if model == "seed":
        return Path(shutil.copy(SEED_FILE, folder / "my_seed.py"))
    path = folder / "my_layer.py"
    path.write_text(CUSTOM_LAYER, encoding="utf-8")
    return path


def change_after_the_kill(path: Path, model: str) -> None:
    """What the user does to their file while the run lies killed."""
    if model == "seed":
        text = path.read_text(encoding="utf-8")
        assert 'Dense(56, activation="relu"' in text
        path.write_text(text.replace('Dense(56, activation="relu"', 'Dense(99, activation="relu"'))
    else:
        path.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["seed", "custom-layer"])
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_a_model_file_resumes_after_kill_9_from_its_own_copy(
    backend: str, model: str, data_dir: Path, tmp_path: Path
) -> None:
    mine = users_file(tmp_path, model)
    original = mine.read_bytes()
    train = [
        "--backend", backend, "train", "--model", str(mine), "--epochs", str(EPOCHS),
        "--data-dir", str(data_dir), "--no-export",
    ]  # fmt: skip
    uninterrupted = cli(tmp_path / "uninterrupted", backend, *train)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    [reference] = [load_run(run.path) for run in list_runs(tmp_path / "uninterrupted" / "runs")]

    process = subprocess.Popen(
        [*fmnist_tui(), *train],
        env=env_for(tmp_path, backend),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_dir = wait_for_checkpoint(tmp_path / "runs", 2, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    [listing] = list_runs(tmp_path / "runs")
    assert listing.status == "interrupted" and listing.resumable
    assert listing.checkpoint_epoch == 2, "killed inside epoch 3"

    change_after_the_kill(mine, model)
    resumed = cli(tmp_path, backend, "--backend", backend, "train", "--resume", str(run_dir),
                  "--no-export")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"· {backend}" in resumed.stdout

    history = json.loads((run_dir / HISTORY_JSON).read_text(encoding="utf-8"))
    assert [row["epoch"] for row in history["epochs"]] == list(range(1, EPOCHS + 1)), "each once"
    run = load_run(run_dir)
    assert run.status == "finished"
    # The same batches, weights and optimizer state as the uninterrupted run of the same file.
    for mine_epoch, theirs in zip(run.history, reference.history, strict=True):
        assert mine_epoch.loss == pytest.approx(theirs.loss, rel=1e-3, abs=1e-4)
        assert mine_epoch.val_loss == pytest.approx(theirs.val_loss, rel=1e-3, abs=1e-4)
    assert run.test_accuracy == pytest.approx(reference.test_accuracy, abs=0.005)

    # Built from the run's own copy: the original's parameters, not the edited file's.
    params = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["trainable_params"]
    assert params == SEED_PARAMS + (model == "custom-layer")
    assert (run_dir / SOURCE_COPY).read_bytes() == original
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert config["model_sha256"] == hashlib.sha256(original).hexdigest()
    assert config["model_file"] == str(mine)
    assert config["backend"] == backend
