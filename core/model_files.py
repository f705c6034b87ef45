"""A model of the user's own: a Python file that builds a Keras model.

The contract (the README's "Your own model" says it for users):

- The file defines ``build_model()``, called with no arguments, returning a fresh
  ``keras.Model`` that takes ``(28, 28, 1)`` float images scaled to 0-1 and gives 10 class
  probabilities (a softmax). The layers every model shares go in front of it (raw uint8
  ``(28, 28)`` images in, scaled inside, random flips when the run augments), so the saved
  ``model.keras`` takes raw images like every other run's.
- Layers, losses and other Keras classes defined in the file work: each run keeps a copy of
  the file, and its checkpoints are loaded (still in Keras' safe mode, which refuses lambdas
  and pickled code) with the copy's classes at hand.
- Optionally ``BATCH_SIZE = N``: the batch size new runs of the model take by default.

Checking a file (:func:`read_model_file`) needs no ML framework and runs none of its code, so
the CLI and the app's dialog refuse a missing or broken file at once; building it
(:func:`build_body`) runs the user's code, whose own traceback is kept for the log
(:class:`ModelFileError`).
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import keras

BUILDER: Final = "build_model"
"""The function a model file must define."""
BATCH_SIZE_NAME: Final = "BATCH_SIZE"
MAX_SOURCE_BYTES: Final = 1 << 20
"""A model file larger than this is not a model definition (1 MiB)."""
MAX_PARAMS: Final = 200_000_000
"""More weights than this would not fit a model of 28x28 images in any sensible memory."""
SOURCE_COPY: Final = "model.py"
"""The copy of a model file that its run folder keeps."""


class ModelFileError(ValueError):
    """A model file cannot be used. ``str(error)`` is one line for the user; ``details`` is
    the user's own traceback when their code raised (for the log)."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details


def looks_like_a_file(text: str) -> bool:
    """Whether ``--model`` names a file rather than a preset."""
    text = text.strip()
    return text.endswith(".py") or "/" in text or text.startswith(("~", "."))


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A model file's text, checked to be Python that defines ``build_model``."""

    path: Path
    """Where it was read from (the user's file, or a run folder's copy)."""
    text: str
    sha256: str
    batch_size: int | None = None
    """``BATCH_SIZE`` when the file sets it to a whole number."""

    @property
    def name(self) -> str:
        """How runs of it are labelled: its file name."""
        return self.path.name


def _shown(text: str, limit: int = 80) -> str:
    """A path as typed, fit for a one-line message: quoted when it holds odd characters. A
    long one keeps its end, which names the file (a run folder's copy is often over 80)."""
    if text.isprintable():
        return text if len(text) <= limit else f"…{text[-limit:]}"
    quoted = repr(text[:limit])
    return quoted if len(text) <= limit else f"{quoted}… ({len(text):,} characters)"


def slug(name: str) -> str:
    """``name`` fit for a folder name: letters, digits, ``-`` and ``_`` (a ``.py`` dropped)."""
    stem = name.removesuffix(".py")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
    return cleaned[:40] or "model"


def read_model_file(path: Path | str) -> ModelSource:
    """Read and check a model file without running it.

    Raises:
        ModelFileError: it is missing, unreadable, not Python (the line of a syntax error is
            named) or defines no ``build_model``.
    """
    given = str(path)
    shown = _shown(given)
    try:
        path = Path(given).expanduser()
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{shown}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{shown}: a folder, not a model file") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ModelFileError(f"{shown}: cannot read the model file ({reason})") from None
    except (RuntimeError, ValueError):  # "~nobody/x.py", an embedded NUL
        raise ModelFileError(f"{shown}: not a path to a model file") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise ModelFileError(f"{shown}: {len(data):,} bytes is too large for a model file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{shown}: not a Python file (not UTF-8 text)") from None
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        if error.lineno is None:  # a NUL byte: newer Pythons raise SyntaxError, with no line
            raise ModelFileError(f"{shown}: not a Python file ({error.msg})") from None
        raise ModelFileError(f"{shown}, line {error.lineno}: syntax error: {error.msg}") from None
    except ValueError as error:  # a NUL byte
        raise ModelFileError(f"{shown}: not a Python file ({error})") from None
    builders = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == BUILDER
    ]
    if not builders:
        raise ModelFileError(
            f"{shown}: defines no {BUILDER}() function (it should return a keras.Model)"
        )
    return ModelSource(
        path=path.resolve(),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        batch_size=_declared_batch_size(tree),
    )


def run_copy(run_dir: Path, sha256: str) -> ModelSource:
    """The copy of its model file that a run folder keeps, checked against the run's record.

    Raises:
        ModelFileError: the copy is missing, damaged or not the file the run was trained with.
    """
    source = read_model_file(run_dir / SOURCE_COPY)
    if source.sha256 != sha256:
        raise ModelFileError(
            f"{run_dir / SOURCE_COPY}: not the model file the run was trained with "
            "(its checksum differs)"
        )
    return source


def _declared_batch_size(tree: ast.Module) -> int | None:
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == BATCH_SIZE_NAME:
            value = node.value
            if isinstance(value, ast.Constant) and type(value.value) is int:
                return int(value.value) if 1 <= value.value <= 4096 else None
    return None


def _their_traceback(error: BaseException, filename: str) -> str:
    """The traceback of an error raised in the user's file, from its first frame there."""
    frames = traceback.extract_tb(error.__traceback__)
    theirs = [i for i, frame in enumerate(frames) if frame.filename == filename]
    tb = error.__traceback__
    if theirs:
        for _ in range(theirs[0]):
            if tb is not None:
                tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _where(error: BaseException, filename: str) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return f", line {frames[-1].lineno}" if frames else ""


def load_module(source: ModelSource) -> types.ModuleType:
    """Run the model file as a module of its own (its classes then exist for Keras).

    Raises:
        ModelFileError: its code raised; ``details`` holds the user's traceback.
    """
    # One module per text and place: the same text at another path (a run folder's copy)
    # compiled under the first path's name would name the wrong file in its tracebacks.
    key = hashlib.sha256(f"{source.sha256}\0{source.path}".encode()).hexdigest()
    name = f"fmnist_model_{key[:16]}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    module = types.ModuleType(name)
    module.__file__ = str(source.path)
    filename = str(source.path)
    try:
        code = compile(source.text, filename, "exec")
        sys.modules[name] = module  # dataclasses and pickling look classes up here
        exec(code, module.__dict__)
    except Exception as error:  # noqa: BLE001 - the user's code: any error is theirs to see
        sys.modules.pop(name, None)
        where = _where(error, filename)
        raise ModelFileError(
            f"{source.path}{where}: {type(error).__name__} while loading: {_first(error)}",
            _their_traceback(error, filename),
        ) from None
    return module


def _first(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def custom_objects(source: ModelSource) -> dict[str, Any]:
    """The Keras classes the file defines, by name: what loading its saved models needs."""
    import keras

    module = load_module(source)
    found: dict[str, Any] = {}
    kinds = (keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric, keras.Model)
    for value in vars(module).values():
        ours = isinstance(value, type) and value.__module__ == module.__name__
        if ours and issubclass(value, kinds):
            found[value.__name__] = value
    return found


def build_body(source: ModelSource) -> keras.Model:
    """Call the file's ``build_model()`` and check what it returned.

    Raises:
        ModelFileError: it raised (``details``: the user's traceback), returned something that
            is not a Keras model, takes other images than ``(28, 28, 1)``, gives other than 10
            outputs, or is too large for memory.
    """
    import keras

    module = load_module(source)
    builder = getattr(module, BUILDER, None)
    if not callable(builder):
        raise ModelFileError(f"{source.path}: {BUILDER} is not a function")
    filename = str(source.path)
    try:
        model = builder()
    except MemoryError:
        raise ModelFileError(
            f"{source.path}: {BUILDER}() ran out of memory: the model is too large"
        ) from None
    except Exception as error:  # noqa: BLE001 - the user's code: any error is theirs to see
        raise ModelFileError(
            f"{source.path}{_where(error, filename)}: {type(error).__name__} in {BUILDER}(): "
            f"{_first(error)}",
            _their_traceback(error, filename),
        ) from None
    if not isinstance(model, keras.Model):
        raise ModelFileError(
            f"{source.path}: {BUILDER}() returned {type(model).__name__}, not a keras.Model"
        )
    _check_shapes(model, source.path)
    return model


def _check_shapes(model: keras.Model, path: Path) -> None:
    try:
        inputs = model.inputs
        outputs = model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise ModelFileError(
            f"{path}: {BUILDER}() returned a model that is not built: give it an input "
            "(keras.Input(shape=(28, 28, 1)) first)"
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelFileError(f"{path}: the model must have one input and one output")
    input_shape = tuple(inputs[0].shape[1:])
    if input_shape != (28, 28, 1):
        raise ModelFileError(
            f"{path}: the model takes {input_shape}; it must take (28, 28, 1) images in 0-1"
        )
    output_shape = tuple(outputs[0].shape[1:])
    if output_shape != (10,):
        raise ModelFileError(
            f"{path}: the model gives {output_shape}; it must give 10 class probabilities"
        )
    params = model.count_params()
    if params > MAX_PARAMS:
        raise ModelFileError(f"{path}: {params:,} parameters is too large (at most {MAX_PARAMS:,})")
