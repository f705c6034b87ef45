"""The sweep's space file: what it may say, and every mistake as one line naming its line;
the distributions it becomes (including the ones Optuna would let through), and the run
settings a trial's parameters make."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import TrainConfig
from core.sweeps import space as space_module
from core.sweeps.errors import SpaceError
from core.sweeps.space import load_space

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "space.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SpaceError) as caught:
        load_space(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message.removeprefix(str(path))


VARIES = "learning_rate = { low = 1e-4, high = 1e-2, log = true }\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param("trials = 4\n[params]\nepochs = \n", 3, "invalid TOML", id="syntax"),
        pytest.param(
            "[params]\n" + VARIES + "learnig_rate = [0.1]\n",
            3,
            "unknown parameter 'learnig_rate' (did you mean 'learning_rate'?)",
            id="unknown-parameter",
        ),
        pytest.param(
            "[params]\nepochs = { low = 10, high = 5 }\n",
            2,
            "the range is empty (low 10 is above high 5)",
            id="empty-range",
        ),
        pytest.param(
            "[params]\nlearning_rate = { low = nan, high = 0.1 }\n",
            2,
            "low must be a finite number",
            id="nan-bound",
        ),
        pytest.param(
            "[params]\nlearning_rate = { low = 0.001, high = inf }\n",
            2,
            "high must be a finite number",
            id="inf-bound",
        ),
        pytest.param(
            "[params]\nlabel_smoothing = { low = 0.0, high = 0.5, step = 0.2 }\n",
            2,
            "step 0.2 does not divide the range 0 to 0.5",
            id="step-not-dividing",
        ),
        pytest.param(
            "[params]\nepochs = { low = 1.5, high = 4 }\n",
            2,
            "epochs: low must be a whole number, got 1.5",
            id="float-bounds-for-int",
        ),
        pytest.param(
            "[params]\n" + VARIES + "optimizer = []\n",
            3,
            "optimizer: the list of choices is empty",
            id="empty-choices",
        ),
        pytest.param(
            "[params]\nweight_decay = { low = 0.0, high = 0.1, log = true }\n",
            2,
            "`low > 0` must hold for `log=True`",
            id="optuna-refuses-log-of-0",
        ),
        pytest.param(
            "[params]\nlearning_rate = { low = 1e-3, high = 1, log = true, step = 0.1 }\n",
            2,
            "step",
            id="optuna-refuses-log-with-step",
        ),
        pytest.param(
            "[params]\nlearning_rate = { low = 1e-4, high = 2000 }\n",
            2,
            "learning rate must be at most 1000, got 2000",
            id="out-of-range",
        ),
        pytest.param(
            "[params]\noptimizer = ['adam', 'lion']\n",
            2,
            "unknown optimizer 'lion'",
            id="unknown-choice",
        ),
        pytest.param(
            "[params]\noptimizer = ['adam', 'adam']\n",
            2,
            "'adam' is listed twice",
            id="duplicate-choice",
        ),
        pytest.param(
            "[params]\nmodel = ['seed', 'missing.py']\n", 2, "missing.py", id="missing-model-file"
        ),
        pytest.param(
            'objective = "test_accuracy"\n[params]\n' + VARIES,
            1,
            "never looks at the test set",
            id="test-set-objective",
        ),
        pytest.param("[params]\nepochs = 5\n", 1, "nothing varies", id="nothing-varies"),
        pytest.param(
            "[params]\n" + VARIES + "val_split = [0.1, 0.2]\n",
            3,
            "val_split cannot vary",
            id="fixed-only",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[sampler]\ntype = 'annealing'\n",
            4,
            "unknown sampler type 'annealing'",
            id="unknown-sampler",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[sampler]\ntype = 'grid'\n",
            2,
            "a grid sampler needs a list",
            id="grid-of-a-continuous-range",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[pruner]\ntype = 'median'\nwarmup = 2\n",
            5,
            "unknown option 'warmup'",
            id="unknown-pruner-option",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[pruner]\ntype = 'percentile'\npercentile = 150\n",
            3,
            "percentile must be at most 100",
            id="percentile-out-of-range",
        ),
        pytest.param(
            "[params]\n" + VARIES + "epochs = 5\n[pruner]\ntype = 'hyperband'\nmin_resource = 8\n",
            4,
            "min_resource (8) is above max_resource (5)",
            id="hyperband-min-above-max",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[pruner]\ntype = 'threshold'\n",
            3,
            "give lower or upper",
            id="threshold-without-bounds",
        ),
        pytest.param(
            "[params]\n" + VARIES + "[workers]\nheartbeat_interval = 30\ngrace_period = 40\n",
            3,
            "at least twice",
            id="grace-too-short",
        ),
        pytest.param(
            "trails = 3\n[params]\n" + VARIES, 1, "unknown key 'trails'", id="unknown-key"
        ),
    ],
)
def test_a_mistake_is_one_line_naming_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    message = refusal(tmp_path, text)
    assert message.startswith(f":{line}: "), message
    assert words in message


def test_cmaes_without_its_package_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Optuna makes the sampler without it and fails at the first trial instead.
    real = space_module.importlib.util.find_spec
    monkeypatch.setattr(
        space_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "cmaes" else real(name, *a),
    )
    message = refusal(tmp_path, "[params]\n" + VARIES + "[sampler]\ntype = 'cmaes'\n")
    assert message.startswith(":3: ") and "needs the cmaes package" in message


def test_a_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match=r"^cannot read .*missing\.toml: No such file"):
        load_space(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpaceError, match="not UTF-8"):
        load_space(binary)


def test_the_seed_authors_grid_is_six_runs() -> None:
    space = load_space(ROOT / "examples" / "sweeps" / "seed_vs_deep.toml")
    assert space.is_grid and space.grid_size == 6 and space.default_trials() == 6
    assert space.grid() == {"model": ["seed", "seed-deep"], "epochs": [5, 10, 20]}
    assert space.direction == "maximize"
    config = space.config_for({"model": "seed-deep", "epochs": 20}, TrainConfig())
    assert (config.model, config.epochs, config.batch_size) == ("seed-deep", 20, 32)


def test_the_improved_search_varies_its_rate_and_decay_on_its_own_defaults() -> None:
    from optuna.distributions import FloatDistribution

    space = load_space(ROOT / "examples" / "sweeps" / "improved_lr_wd.toml")
    assert space.default_trials() == 20 and space.max_epochs <= 15
    assert space.distributions() == {
        "learning_rate": FloatDistribution(3e-4, 1e-2, log=True),
        "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
    }
    config = space.config_for({"learning_rate": 0.002, "weight_decay": 3e-5}, TrainConfig())
    assert config.model == "improved" and config.epochs == 15
    assert config.batch_size == 128  # the preset's own
    training = config.training
    assert (training.learning_rate, training.weight_decay) == (0.002, 3e-5)
    assert training.optimizer == "adamw" and training.schedule == "cosine"  # the preset's


def test_ranges_and_choices_become_optuna_distributions(tmp_path: Path) -> None:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    path = write(
        tmp_path,
        """
        objective = "val_loss"
        [params]
        batch_size = { low = 32, high = 256, log = true }
        epochs = { low = 2, high = 10, step = 2 }
        momentum = { low = 0.8, high = 0.95, step = 0.05 }
        optimizer = ["sgd", "adam"]
        augment = [true, false]
        seed = 3
        [pruner]
        type = "patient"
        patience = 2
        wrapped = { type = "percentile", percentile = 25.0 }
        """,
    )
    space = load_space(path)
    assert space.direction == "minimize"
    assert space.fixed == {"seed": 3}
    assert space.distributions() == {
        "batch_size": IntDistribution(32, 256, log=True),
        "epochs": IntDistribution(2, 10, step=2),
        "momentum": FloatDistribution(0.8, 0.95, step=0.05),
        "optimizer": CategoricalDistribution(["sgd", "adam"]),
        "augment": CategoricalDistribution([True, False]),
    }
    assert type(space.make_pruner()).__name__ == "PatientPruner"
    config = space.config_for(
        {"batch_size": 64, "epochs": 4, "momentum": 0.9, "optimizer": "sgd", "augment": True},
        TrainConfig(limit_train=500),
    )
    assert (config.batch_size, config.epochs, config.seed, config.augment) == (64, 4, 3, True)
    assert (config.training.optimizer, config.training.momentum) == ("sgd", 0.9)
    assert config.limit_train == 500  # the command line's data settings stay


def test_a_grid_takes_ranges_with_a_step_as_their_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [params]
        epochs = { low = 2, high = 6, step = 2 }
        label_smoothing = { low = 0.0, high = 0.3, step = 0.1 }
        [sampler]
        type = "grid"
        """,
    )
    space = load_space(path)
    assert space.grid() == {"epochs": [2, 4, 6], "label_smoothing": [0.0, 0.1, 0.2, 0.3]}
    assert space.grid_size == 12


def test_a_model_file_is_found_beside_the_space_file(tmp_path: Path) -> None:
    folder = tmp_path / "sweeps"
    folder.mkdir()
    (folder / "mine.py").write_text((ROOT / "examples" / "seed.py").read_text())
    path = write(folder, "[params]\nmodel = ['seed', 'mine.py']\n")
    space = load_space(path)
    config = space.config_for({"model": "mine.py"}, TrainConfig())
    assert config.model == "mine.py" and config.model_file == str(folder / "mine.py")
    assert config.model_sha256 is not None
