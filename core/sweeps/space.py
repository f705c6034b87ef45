"""The space file: what a sweep varies, what it optimises, and how it samples and prunes.

A TOML file, read and checked whole before anything runs; every mistake is one line that
names the file and, where it can be found, the line::

    objective = "val_accuracy"      # or "val_loss"; never the test set
    trials = 20                     # how many trials the study has in all (--trials N)

    [params]                        # a value is fixed, a list is a choice, a table a range
    model = "improved"              # a preset, or a model file (relative to this file)
    epochs = 15
    learning_rate = { low = 1e-4, high = 1e-2, log = true }
    weight_decay = { low = 1e-6, high = 1e-2, log = true }
    optimizer = ["adamw", "sgd"]

    [sampler]                       # tpe (default), random, grid, cmaes
    type = "tpe"
    n_startup_trials = 5

    [pruner]                        # none (default), median, percentile, successive_halving,
    type = "median"                 # hyperband, threshold, patient
    n_warmup_steps = 2

    [workers]                       # how a dead worker is noticed and its trial retried
    heartbeat_interval = 10
    grace_period = 60
    max_retry = 3

Optuna lets some mistakes through (a nan or infinite bound, a step that does not divide its
range, float bounds for a whole-number setting, an empty list, CMA-ES without its package, a
Hyperband whose smallest resource is above its largest); they are refused here, with the
ones it refuses itself. Nothing here imports Optuna until distributions or samplers are made.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.config import MAX_EPOCHS, ConfigError, TrainConfig
from core.files import os_reason
from core.hyperparameters import SETTING_NAMES
from core.model_files import looks_like_a_file
from core.presets import DEFAULT_MODEL

from .errors import SpaceError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

Objective = Literal["val_accuracy", "val_loss"]
OBJECTIVES: tuple[Objective, ...] = ("val_accuracy", "val_loss")

FLOAT_SETTINGS = ("learning_rate", "weight_decay", "momentum", "label_smoothing", "warmup_epochs")
INT_SETTINGS = ("epochs", "batch_size", "patience", "seed")
CHOICE_SETTINGS = ("model", "optimizer", "schedule", "augment")
FIXED_SETTINGS = ("val_split",)
"""Settings every trial of a study shares: a validation split that varied would make the
trials' objective values incomparable."""
SETTINGS = (*CHOICE_SETTINGS, *INT_SETTINGS, *FLOAT_SETTINGS, *FIXED_SETTINGS)

MAX_SEED = 2**31 - 1
MAX_TRIALS = 100_000
MAX_GRID = 100_000

_SETTING_NAMES = set(SETTING_NAMES)
_RUN_SETTINGS = ("epochs", "batch_size", "patience", "seed", "augment", "val_split")

Kind = Literal["float", "int", "choice"]


# --- What the file describes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """A setting the sweep varies: a range (``low``..``high``) or a list of ``choices``."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    line: int | None = None

    def grid_values(self) -> list[Any] | None:
        """Every value the grid sampler visits; ``None`` when the range is continuous."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            step = int(self.step or 1)
            if self.log and self.step is None:
                return list(range(int(self.low), int(self.high) + 1))
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            return None
        count = round((self.high - self.low) / self.step)
        return [_tidy(self.low + i * self.step) for i in range(count + 1)]

    def describe(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        text = f"{self.low:g} to {self.high:g}"
        if self.step is not None:
            text += f" by {self.step:g}"
        return text + (" (log)" if self.log else "")


@dataclass(frozen=True, slots=True)
class Component:
    """A sampler or a pruner: its type and options (``wrapped``: a patient pruner's own)."""

    type: str
    options: Mapping[str, Any] = field(default_factory=dict)
    wrapped: Component | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Workers:
    """How a worker that died mid-trial is noticed, and how often its trial is retried."""

    heartbeat_interval: int = 10
    """Seconds between a worker's heartbeats on PostgreSQL (on the journal, a lock that the
    kernel releases when the worker dies says it at once)."""
    grace_period: int = 60
    """Seconds without a heartbeat after which another worker fails the trial and retries it."""
    max_retry: int = 3


@dataclass(frozen=True, slots=True, eq=False)
class SweepSpace:
    """A space file, checked: every setting's values are valid for a run."""

    path: Path
    objective: Objective
    params: tuple[Param, ...]
    fixed: Mapping[str, Any]
    sampler: Component
    pruner: Component
    workers: Workers
    trials: int | None = None
    """How many trials the study has in all, when the file says."""

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if self.objective == "val_accuracy" else "minimize"

    @property
    def is_grid(self) -> bool:
        return self.sampler.type == "grid"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space: every value of every parameter."""
        grid: dict[str, list[Any]] = {}
        for param in self.params:
            values = param.grid_values()
            if values is None:  # refused when the file was read
                raise SpaceError(f"{param.name}: a grid needs a list or a range with a step")
            grid[param.name] = values
        return grid

    @property
    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values()) if self.is_grid else 0

    def default_trials(self) -> int | None:
        """The file's number of trials, else a grid's size."""
        if self.trials is not None:
            return self.trials
        return self.grid_size if self.is_grid else None

    def distributions(self) -> dict[str, BaseDistribution]:
        """Each parameter's Optuna distribution (a grid's are its values, as choices)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        found: dict[str, BaseDistribution] = {}
        grid = self.grid() if self.is_grid else {}
        for param in self.params:
            if self.is_grid:
                found[param.name] = CategoricalDistribution(grid[param.name])
            elif param.kind == "choice":
                found[param.name] = CategoricalDistribution(param.choices)
            elif param.kind == "int":
                found[param.name] = IntDistribution(
                    int(param.low), int(param.high), log=param.log, step=int(param.step or 1)
                )
            else:
                found[param.name] = FloatDistribution(
                    param.low, param.high, log=param.log, step=param.step
                )
        return found

    def make_sampler(self) -> BaseSampler:
        import optuna

        options = dict(self.sampler.options)
        kind = self.sampler.type
        if kind == "grid":
            # Every worker shuffles the grid with the same seed, or they visit different points
            # under the same grid index and miss some.
            return optuna.samplers.GridSampler(self.grid(), seed=options.get("seed", 0))
        if kind == "random":
            return optuna.samplers.RandomSampler(**options)
        if kind == "cmaes":
            return optuna.samplers.CmaEsSampler(**options)
        return optuna.samplers.TPESampler(**options)

    def make_pruner(self) -> BasePruner:
        import warnings

        from optuna.exceptions import ExperimentalWarning

        with warnings.catch_warnings():
            # The patient pruner is "experimental" since Optuna 2.8.
            warnings.simplefilter("ignore", ExperimentalWarning)
            return _make_pruner(self.pruner, self.max_epochs)

    @property
    def max_epochs(self) -> int:
        """The most epochs a trial can train (Hyperband's largest resource by default)."""
        for param in self.params:
            if param.name == "epochs":
                return int(param.high) if param.kind == "int" else max(param.choices)
        return int(self.fixed.get("epochs", TrainConfig().epochs))

    def model_path(self, model: str) -> str:
        """A model as the file names it: a preset, or a model file relative to the space
        file's folder (so the same file works from any current folder)."""
        if looks_like_a_file(model) and not Path(model).expanduser().is_absolute():
            return str(self.path.parent / model)
        return model

    def config_for(self, params: Mapping[str, Any], base: TrainConfig) -> TrainConfig:
        """A trial's settings: ``base`` (data, backend) with the fixed values and ``params``.

        The model comes first: its batch size and training settings are the defaults the
        others replace.

        Raises:
            ConfigError: a value is out of range for a run.
        """
        values = {**self.fixed, **params}
        config = base.for_model(self.model_path(str(values.get("model", DEFAULT_MODEL))))
        changes = {name: values[name] for name in _RUN_SETTINGS if name in values}
        if changes:
            config = config.with_changes(**changes)
        training = {name: values[name] for name in values if name in _SETTING_NAMES}
        if training:
            config = config.with_training(**training)
        return config


def _tidy(value: float) -> float:
    """A grid value without the float noise of ``low + i * step`` (0.30000000000000004)."""
    return float(f"{value:.12g}")


# --- Reading the file -------------------------------------------------------------------------


def load_space(path: Path) -> SweepSpace:
    """Read and check a space file.

    Raises:
        SpaceError: the file cannot be read, is not TOML (the line is named), or describes
            an invalid sweep (the line is named where it can be found).
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpaceError(f"cannot read {path}: {os_reason(error)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: not a TOML file (not UTF-8 text)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpaceError(_syntax_error(path, error)) from None
    return _Reader(path, text).space(data)


_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _syntax_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error).splitlines()[0] if str(error) else "invalid TOML"
    found = _AT_LINE.search(message)
    if found is None:
        return f"{path}: invalid TOML: {message}"
    line, column = found.groups()
    return f"{path}:{line}: invalid TOML: {message[: found.start()]} (column {column})"


_TOP_LEVEL = ("objective", "trials", "params", "sampler", "pruner", "workers")


class _Reader:
    """Checks a parsed space file, naming the line of each mistake it finds."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    # --- Where things are in the file ---------------------------------------------------------

    def line_of(self, table: str | None, key: str | None = None) -> int | None:
        """The line of ``key`` in ``[table]`` (``None``: the top level), else of the table."""
        current: str | None = None
        header: int | None = None
        key_line = None
        if key is not None:
            quoted = re.escape(key)
            key_line = re.compile(rf"""\s*(?:{quoted}|"{quoted}"|'{quoted}')\s*=""")
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            table_header = re.fullmatch(r"\[\s*([^\]]+?)\s*\](\s*#.*)?", stripped)
            if table_header:
                current = table_header.group(1).strip("\"'")
                if current == table:
                    header = number
                continue
            if current == table and key_line is not None and key_line.match(line):
                return number
            if table is not None and current is None and key_line is not None:
                # ``params.learning_rate = ...`` or ``params = { ... }`` at the top level.
                dotted = re.match(rf"\s*{re.escape(table)}\s*\.\s*{re.escape(key or '')}\s*=", line)
                if dotted:
                    return number
        if header is None and table is not None:
            return self.line_of(None, table)
        return header

    def fail(self, message: str, line: int | None) -> SpaceError:
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return SpaceError(f"{where}: {message}")

    # --- The whole file -----------------------------------------------------------------------

    def space(self, data: dict[str, Any]) -> SweepSpace:
        for key in data:
            if key not in _TOP_LEVEL:
                raise self.fail(
                    f"unknown key {key!r}{_did_you_mean(key, _TOP_LEVEL)}; a space file has "
                    f"{', '.join(_TOP_LEVEL)}",
                    self.line_of(None, key),
                )
        objective = self.objective(data.get("objective", "val_accuracy"))
        trials = data.get("trials")
        if trials is not None:
            trials = self.whole(trials, "trials", 1, MAX_TRIALS, self.line_of(None, "trials"))
        params_table = self.table(data, "params")
        if not params_table:
            raise self.fail(
                "no [params] table: name the settings to vary (a list or a range each)",
                self.line_of("params"),
            )
        params: list[Param] = []
        fixed: dict[str, Any] = {}
        for name, value in params_table.items():
            param = self.param(name, value)
            if param is None:
                fixed[name] = value
            else:
                params.append(param)
        if not params:
            raise self.fail(
                "nothing varies: give at least one setting a list or a range "
                "(a single value is fixed)",
                self.line_of("params"),
            )
        sampler = self.sampler(self.table(data, "sampler"))
        pruner = self.pruner(self.table(data, "pruner"), "pruner", self.line_of("pruner"))
        workers = self.workers(self.table(data, "workers"))
        space = SweepSpace(
            path=self.path,
            objective=objective,
            params=tuple(params),
            fixed=fixed,
            sampler=sampler,
            pruner=pruner,
            workers=workers,
            trials=trials,
        )
        self.check_fixed_together(space)
        self.check_components(space)
        return space

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"{name} must be a table ([{name}])", self.line_of(None, name))
        return value

    def objective(self, value: Any) -> Objective:
        line = self.line_of(None, "objective")
        if isinstance(value, str) and value.startswith("test"):
            raise self.fail(
                f"objective {value!r}: a sweep never looks at the test set (that would tune "
                "the model to it); choose val_accuracy or val_loss",
                line,
            )
        if value not in OBJECTIVES:
            raise self.fail(f"unknown objective {value!r}; choose val_accuracy or val_loss", line)
        return value  # type: ignore[no-any-return]

    def whole(self, value: Any, name: str, low: int, high: int | None, line: int | None) -> int:
        if type(value) is not int:
            raise self.fail(f"{name} must be a whole number, got {value!r}", line)
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(f"{name} must be {span}, got {value}", line)
        return value

    # --- Parameters ---------------------------------------------------------------------------

    def param(self, name: str, value: Any) -> Param | None:
        """The parameter ``name`` varies over, or ``None`` when ``value`` fixes it."""
        line = self.line_of("params", name)
        if name not in SETTINGS:
            raise self.fail(
                f"unknown parameter {name!r}{_did_you_mean(name, SETTINGS)}; "
                f"a sweep can vary {', '.join(s for s in SETTINGS if s not in FIXED_SETTINGS)}"
                f" and fix {', '.join(FIXED_SETTINGS)}",
                line,
            )
        if isinstance(value, list):
            if name in FIXED_SETTINGS:
                raise self.fail(f"{name} cannot vary in a sweep: give one value", line)
            return self.choices(name, value, line)
        if isinstance(value, dict):
            if name in FIXED_SETTINGS:
                raise self.fail(f"{name} cannot vary in a sweep: give one value", line)
            return self.range(name, value, line)
        self.check_value(name, value, line, "")
        return None

    def choices(self, name: str, values: list[Any], line: int | None) -> Param:
        if not values:
            raise self.fail(f"{name}: the list of choices is empty", line)
        seen: list[Any] = []
        for value in values:
            self.check_value(name, value, line, "choice ")
            if any(type(value) is type(other) and value == other for other in seen):
                raise self.fail(f"{name}: {value!r} is listed twice", line)
            seen.append(value)
        if len(values) == 1:
            raise self.fail(
                f"{name}: a list of one choice does not vary: give the value itself", line
            )
        return Param(name, "choice", choices=tuple(values), line=line)

    def range(self, name: str, table: dict[str, Any], line: int | None) -> Param:
        if name in CHOICE_SETTINGS:
            raise self.fail(f"{name} takes a list of choices, not a range", line)
        kind: Kind = "int" if name in INT_SETTINGS else "float"
        unknown = [key for key in table if key not in ("low", "high", "log", "step")]
        if unknown:
            raise self.fail(
                f"{name}: unknown key {unknown[0]!r} in a range; a range has low, high, and "
                "optionally log or step",
                line,
            )
        for bound in ("low", "high"):
            if bound not in table:
                raise self.fail(f"{name}: the range has no {bound}", line)
        low, high = table["low"], table["high"]
        log = table.get("log", False)
        step = table.get("step")
        if not isinstance(log, bool):
            raise self.fail(f"{name}: log must be true or false, got {log!r}", line)
        for bound, value in (("low", low), ("high", high), ("step", step)):
            if value is None:
                continue
            if kind == "int" and type(value) is not int:
                raise self.fail(f"{name}: {bound} must be a whole number, got {value!r}", line)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"{name}: {bound} must be a number, got {value!r}", line)
            if not math.isfinite(value):
                raise self.fail(f"{name}: {bound} must be a finite number, got {value!r}", line)
        if low > high:
            raise self.fail(
                f"{name}: the range is empty (low {low:g} is above high {high:g})", line
            )
        if low == high:
            raise self.fail(
                f"{name}: low and high are both {low:g}, so nothing varies: give the value itself",
                line,
            )
        if step is not None and step > 0 and not log:
            count = (high - low) / step
            if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
                raise self.fail(
                    f"{name}: step {step:g} does not divide the range {low:g} to {high:g}", line
                )
        self.check_value(name, low, line, "low ")
        self.check_value(name, high, line, "high ")
        param = Param(
            name,
            kind,
            low=low,
            high=high,
            log=log,
            step=None if step is None else step,
            line=line,
        )
        self.optuna_accepts(param)
        return param

    def optuna_accepts(self, param: Param) -> None:
        """Make the distribution now, so that what Optuna refuses is refused with its line."""
        from optuna.distributions import FloatDistribution, IntDistribution

        try:
            if param.kind == "int":
                IntDistribution(
                    int(param.low),
                    int(param.high),
                    log=param.log,
                    step=1 if param.step is None else int(param.step),
                )
            else:
                FloatDistribution(param.low, param.high, log=param.log, step=param.step)
        except (ValueError, TypeError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise self.fail(f"{param.name}: {message}", param.line) from None

    def check_value(self, name: str, value: Any, line: int | None, what: str) -> None:
        """Refuse a value a run could not have, with the message ``train`` gives for it."""
        label = f"{name}: {what}" if what else f"{name}: "
        if name in ("model", "optimizer", "schedule") and not isinstance(value, str):
            raise self.fail(f"{label}must be a name in quotes, got {value!r}", line)
        if name == "augment" and not isinstance(value, bool):
            raise self.fail(f"{label}must be true or false, got {value!r}", line)
        if name in INT_SETTINGS and type(value) is not int:
            raise self.fail(f"{label}must be a whole number, got {value!r}", line)
        if name in (*FLOAT_SETTINGS, *FIXED_SETTINGS) and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise self.fail(f"{label}must be a number, got {value!r}", line)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(f"{label}must be a finite number, got {value!r}", line)
        if name == "seed" and not 0 <= value <= MAX_SEED:
            raise self.fail(f"{label}seed must be between 0 and {MAX_SEED}, got {value}", line)
        try:
            probe = SweepSpace(self.path, "val_accuracy", (), {}, Component("tpe"),
                               Component("none"), Workers())  # fmt: skip
            probe.config_for({name: value}, TrainConfig())
        except ConfigError as error:
            raise self.fail(f"{label}{error}", line) from None

    def check_fixed_together(self, space: SweepSpace) -> None:
        """The fixed values alone make a valid run (each parameter's values were checked)."""
        try:
            space.config_for({}, TrainConfig())
        except ConfigError as error:
            raise self.fail(str(error), self.line_of("params")) from None

    # --- Sampler, pruner, workers ------------------------------------------------------------

    def options(
        self, table: Mapping[str, Any], schema: Mapping[str, _Option], where: str, line: int | None
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in table.items():
            if key == "type" or (key == "wrapped" and "wrapped" in schema):
                continue
            option = schema.get(key)
            if option is None:
                known = ", ".join(k for k in schema if k != "wrapped") or "no options"
                raise self.fail(
                    f"{where}: unknown option {key!r}{_did_you_mean(key, schema)} (it takes "
                    f"{known})",
                    self.line_of(where.split(" ")[0], key) or line,
                )
            found[key] = option.check(self, f"{where}: {key}", value, line)
        for key, option in schema.items():
            if option.required and key not in table:
                raise self.fail(f"{where}: {key} is required", line)
        return found

    def sampler(self, table: dict[str, Any]) -> Component:
        line = self.line_of("sampler")
        kind = self.type_of(table, SAMPLERS, "sampler", "tpe", line)
        options = self.options(table, SAMPLERS[kind], f"sampler {kind!r}", line)
        if kind == "cmaes" and importlib.util.find_spec("cmaes") is None:
            raise self.fail(
                "sampler 'cmaes' needs the cmaes package: pip install cmaes (or choose tpe)", line
            )
        return Component(kind, options, line=line)

    def pruner(self, table: Mapping[str, Any], where: str, line: int | None) -> Component:
        kind = self.type_of(table, PRUNERS, where, "none", line)
        options = self.options(table, PRUNERS[kind], f"{where} {kind!r}", line)
        wrapped = None
        if kind == "patient":
            inner = table.get("wrapped", {"type": "median"})
            if not isinstance(inner, dict):
                raise self.fail(f"{where}: wrapped must be a table such as {{ type = \"median\" }}",
                                line)  # fmt: skip
            wrapped = self.pruner(inner, f"{where} wrapped", line)
        return Component(kind, options, wrapped, line)

    def type_of(
        self, table: Mapping[str, Any], kinds: Mapping[str, Any], where: str, default: str,
        line: int | None,
    ) -> str:  # fmt: skip
        kind = table.get("type", default)
        if kind not in kinds:
            raise self.fail(
                f"unknown {where} type {kind!r}{_did_you_mean(str(kind), kinds)}; choose one of "
                f"{', '.join(kinds)}",
                self.line_of(where.split(" ")[0], "type") or line,
            )
        return str(kind)

    def workers(self, table: dict[str, Any]) -> Workers:
        line = self.line_of("workers")
        options = self.options(table, WORKER_OPTIONS, "workers", line)
        workers = Workers(**options)
        if workers.grace_period < 2 * workers.heartbeat_interval:
            raise self.fail(
                f"workers: grace_period ({workers.grace_period} s) must be at least twice "
                f"heartbeat_interval ({workers.heartbeat_interval} s), or a slow beat fails a "
                "live trial",
                line,
            )
        return workers

    def check_components(self, space: SweepSpace) -> None:
        """What only the whole file says: a grid's values, Hyperband's resources, and
        whatever Optuna itself refuses in the sampler and pruner."""
        if space.is_grid:
            for param in space.params:
                if param.grid_values() is None:
                    raise self.fail(
                        f"{param.name}: a grid sampler needs a list, or a range with a step",
                        param.line,
                    )
            if space.grid_size > MAX_GRID:
                raise self.fail(
                    f"the grid has {space.grid_size:,} points, more than {MAX_GRID:,}",
                    space.sampler.line,
                )
        pruner: Component | None = space.pruner
        while pruner is not None:
            if pruner.type == "hyperband":
                low = pruner.options.get("min_resource", 1)
                high = pruner.options.get("max_resource", space.max_epochs)
                if low > high:
                    raise self.fail(
                        f"pruner 'hyperband': min_resource ({low}) is above max_resource ({high})",
                        pruner.line,
                    )
            if pruner.type == "threshold":
                lower, upper = pruner.options.get("lower"), pruner.options.get("upper")
                if lower is None and upper is None:
                    raise self.fail("pruner 'threshold': give lower or upper", pruner.line)
                if lower is not None and upper is not None and lower > upper:
                    raise self.fail("pruner 'threshold': lower is above upper", pruner.line)
            pruner = pruner.wrapped
        import warnings

        for make, component in ((space.make_sampler, space.sampler),
                                (space.make_pruner, space.pruner)):  # fmt: skip
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    make()
            except (ValueError, TypeError) as error:
                message = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise self.fail(f"{component.type}: {message}", component.line) from None


@dataclass(frozen=True, slots=True)
class _Option:
    kind: Literal["int", "float", "bool"]
    low: float | None = None
    high: float | None = None
    required: bool = False

    def check(self, reader: _Reader, name: str, value: Any, line: int | None) -> Any:
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise reader.fail(f"{name} must be true or false, got {value!r}", line)
            return value
        if self.kind == "int" and type(value) is not int:
            raise reader.fail(f"{name} must be a whole number, got {value!r}", line)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise reader.fail(f"{name} must be a number, got {value!r}", line)
        if not math.isfinite(value):
            raise reader.fail(f"{name} must be a finite number, got {value!r}", line)
        if self.low is not None and value < self.low:
            raise reader.fail(f"{name} must be at least {self.low:g}, got {value:g}", line)
        if self.high is not None and value > self.high:
            raise reader.fail(f"{name} must be at most {self.high:g}, got {value:g}", line)
        return value


_SEED = _Option("int", 0, MAX_SEED)
_STEPS = _Option("int", 0, MAX_EPOCHS)
SAMPLERS: dict[str, dict[str, _Option]] = {
    "tpe": {
        "seed": _SEED,
        "n_startup_trials": _Option("int", 0, MAX_TRIALS),
        "multivariate": _Option("bool"),
        "constant_liar": _Option("bool"),
    },
    "random": {"seed": _SEED},
    "grid": {"seed": _SEED},
    "cmaes": {
        "seed": _SEED,
        "n_startup_trials": _Option("int", 0, MAX_TRIALS),
        "sigma0": _Option("float", 1e-12),
    },
}
PRUNERS: dict[str, dict[str, _Option]] = {
    "none": {},
    "median": {
        "n_startup_trials": _Option("int", 0, MAX_TRIALS),
        "n_warmup_steps": _STEPS,
        "interval_steps": _Option("int", 1, MAX_EPOCHS),
        "n_min_trials": _Option("int", 1, MAX_TRIALS),
    },
    "percentile": {
        "percentile": _Option("float", 0, 100, required=True),
        "n_startup_trials": _Option("int", 0, MAX_TRIALS),
        "n_warmup_steps": _STEPS,
        "interval_steps": _Option("int", 1, MAX_EPOCHS),
        "n_min_trials": _Option("int", 1, MAX_TRIALS),
    },
    "successive_halving": {
        "min_resource": _Option("int", 1, MAX_EPOCHS),
        "reduction_factor": _Option("int", 2, 100),
        "min_early_stopping_rate": _Option("int", 0, 100),
    },
    "hyperband": {
        "min_resource": _Option("int", 1, MAX_EPOCHS),
        "max_resource": _Option("int", 1, MAX_EPOCHS),
        "reduction_factor": _Option("int", 2, 100),
    },
    "threshold": {
        "lower": _Option("float"),
        "upper": _Option("float"),
        "n_warmup_steps": _STEPS,
        "interval_steps": _Option("int", 1, MAX_EPOCHS),
    },
    "patient": {
        "patience": _Option("int", 0, MAX_EPOCHS, required=True),
        "min_delta": _Option("float", 0),
        "wrapped": _Option("bool"),  # a table, read apart
    },
}
WORKER_OPTIONS: dict[str, _Option] = {
    "heartbeat_interval": _Option("int", 1, 3600),
    "grace_period": _Option("int", 2, 86_400),
    "max_retry": _Option("int", 0, 100),
}


def _make_pruner(component: Component, max_epochs: int) -> BasePruner:
    import optuna

    options = dict(component.options)
    pruners = optuna.pruners
    kind = component.type
    if kind == "median":
        return pruners.MedianPruner(**options)
    if kind == "percentile":
        return pruners.PercentilePruner(**options)
    if kind == "successive_halving":
        return pruners.SuccessiveHalvingPruner(**options)
    if kind == "hyperband":
        options.setdefault("max_resource", max_epochs)
        return pruners.HyperbandPruner(**options)
    if kind == "threshold":
        return pruners.ThresholdPruner(**options)
    if kind == "patient":
        wrapped = None if component.wrapped is None else _make_pruner(component.wrapped, max_epochs)
        return pruners.PatientPruner(wrapped, **options)
    return pruners.NopPruner()


def _did_you_mean(word: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
