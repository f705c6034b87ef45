"""The one seam between the app and the framework under Keras: TensorFlow, JAX or PyTorch.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so a process has exactly one
backend: :func:`select_backend` must run before anything imports Keras. The rest of this
module answers the few questions whose answer depends on the framework (which device, how
much memory, was that error an out-of-memory), and imports a framework only once Keras has
chosen it: under JAX or PyTorch, TensorFlow is never imported.

Importing this module imports neither Keras nor any framework.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import resource
import sys
from typing import Any, Literal, cast

from core.device import cpu_model

Backend = Literal["tensorflow", "jax", "torch"]
BACKENDS: tuple[Backend, ...] = ("tensorflow", "jax", "torch")
DEFAULT_BACKEND: Backend = "tensorflow"

_FRAMEWORK_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
_INSTALL_HINT = {
    "tensorflow": "uv sync (or pip install tensorflow)",
    "jax": "uv sync --extra jax (or pip install jax)",
    # PyPI's Linux wheel of torch is the CUDA build (several GB): the CPU wheel comes first,
    # as in the README's install table.
    "torch": "uv pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU "
    "wheel; with an NVIDIA GPU: uv sync --extra torch)",
}


class BackendError(RuntimeError):
    """The requested backend cannot be used; ``str(error)`` is one line for the user."""


def default_backend() -> Backend:
    """``$KERAS_BACKEND`` when it names a supported backend, else TensorFlow."""
    name = os.environ.get("KERAS_BACKEND", "").strip().lower()
    for backend in BACKENDS:
        if name == backend:
            return backend
    return DEFAULT_BACKEND


FRAMEWORK_NAMES: dict[Backend, str] = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def framework_name(name: Backend | None = None) -> str:
    """How people write the framework's name: ``TensorFlow``, ``JAX``, ``PyTorch`` (the chosen
    backend's by default), for lines such as "Loading JAX…"."""
    return FRAMEWORK_NAMES[name or default_backend()]


def installed(name: Backend) -> bool:
    """Whether the framework behind ``name`` can be imported (without importing it)."""
    return importlib.util.find_spec(_FRAMEWORK_MODULE[name]) is not None


def select_backend(name: Backend) -> None:
    """Make ``name`` the backend Keras will load; call before Keras is first imported.

    Raises:
        BackendError: the framework is not installed, or Keras already runs on another one.
    """
    if "keras" in sys.modules:
        running = active_backend()
        if running != name:
            raise BackendError(
                f"Keras already runs on {running} in this process; {name} needs a new one"
            )
        return
    if not installed(name):
        raise BackendError(f"the {name} backend is not installed: {_INSTALL_HINT[name]}")
    os.environ["KERAS_BACKEND"] = name
    # JAX would otherwise take 75% of the GPU's memory at its first computation.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if name == "torch":
        # PyTorch's OpenMP threads spin while they wait: on a CPU shared with other work
        # that made each batch 15x slower here (874 ms against 58 ms, seed at batch 32).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def active_backend() -> Backend:
    """The backend Keras runs on (imports Keras)."""
    import keras

    return cast(Backend, keras.backend.backend())


def seed_everything(seed: int) -> None:
    """``keras.utils.set_random_seed`` without importing TensorFlow under other backends."""
    import keras

    if active_backend() != "tensorflow":
        # Keras seeds TensorFlow too whenever it is importable, which would import it.
        from keras.src.utils import rng_utils

        rng_utils.tf._available = False
    keras.utils.set_random_seed(seed)


def configure_devices() -> None:
    """Settings that must precede any computation: TensorFlow takes GPU memory as it needs
    it (memory growth) instead of all of it, so a shared box's other users keep theirs.
    JAX is asked the same by :func:`select_backend`; PyTorch allocates on demand already."""
    backend = active_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            # Raises once the GPU is initialised: then it was set before, or cannot change.
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)


def _cpu_name() -> str:
    return f"CPU: {cpu_model()} ({os.cpu_count()} threads)"


def device_name() -> str:
    """The device the backend computes on: the first GPU's name, else the CPU's."""
    backend = active_backend()
    gpus: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            gpus.append(str(details.get("device_name", gpu.name)))
    elif backend == "jax":
        import jax

        gpus = [str(d.device_kind) for d in jax.devices() if d.platform == "gpu"]
    else:
        import torch

        if torch.cuda.is_available():
            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if not gpus:
        return _cpu_name()
    extra = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
    return f"GPU: {gpus[0]}{extra}"


def device_line() -> str:
    """What the app and the CLI show: the device and the backend, e.g.
    ``GPU: NVIDIA H100 80GB HBM3 · jax``."""
    return f"{device_name()} · {active_backend()}"


def peak_host_memory_mib() -> float:
    """This process's peak resident set size."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_gpu_memory_mib() -> float | None:
    """The most GPU memory the backend has held at once, where it says; else ``None``."""
    backend = active_backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            if not tf.config.list_physical_devices("GPU"):
                return None
            return float(tf.config.experimental.get_memory_info("GPU:0")["peak"]) / 2**20
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            stats = gpus[0].memory_stats() if gpus else None
            if not stats or "peak_bytes_in_use" not in stats:
                return None
            return float(stats["peak_bytes_in_use"]) / 2**20
        import torch

        if not torch.cuda.is_available():
            return None
        return float(torch.cuda.max_memory_allocated()) / 2**20
    except (RuntimeError, ValueError, KeyError, AttributeError):
        return None


def peak_memory_line() -> str:
    """One line for the CLI: peak host memory and, on a GPU, peak GPU memory."""
    line = f"peak memory: host {peak_host_memory_mib():,.0f} MiB"
    gpu = peak_gpu_memory_mib()
    if gpu is not None:
        line += f", GPU {gpu:,.0f} MiB"
    return line


def batches_per_call_limit(backend: Backend) -> int | None:
    """The most batches one call into the backend can run, where the backend caps it."""
    return 1 if backend == "torch" else None  # Keras' PyTorch trainer runs one per call


def device_loop_wanted() -> bool:
    """Whether JAX runs each call's batches in one ``lax.scan``: on a GPU, where a batch of
    32 costs less than dispatching it; not on a CPU, where XLA ran the loop far slower than
    separate steps (BENCHMARKS.md). ``FMNIST_DEVICE_LOOP=on|off`` overrides, for measuring."""
    choice = os.environ.get("FMNIST_DEVICE_LOOP", "auto").strip().lower()
    if choice in ("on", "off"):
        return choice == "on"
    import jax

    return bool(jax.default_backend() != "cpu")


def prepare_train_function(model: Any) -> None:
    """Backend-specific set-up of ``model``'s train function before an epoch: on JAX, each
    call's batches run in one jitted loop (Keras loops over them in Python) when wanted."""
    if active_backend() != "jax":
        return
    steps = model.steps_per_execution
    if steps > 1 and getattr(model.train_function, "steps", None) != steps and device_loop_wanted():
        from core.jax_steps import ScanTrainFunction

        model.train_function = ScanTrainFunction(model, steps)


def sync_trained_state(model: Any) -> None:
    """Put what ``fit`` has trained so far back into ``model``'s variables before leaving it
    early: JAX keeps the trained state apart from the model during ``fit``."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


_OOM_TYPES = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}
_OOM_TEXT = ("RESOURCE_EXHAUSTED", "out of memory", "Out of memory", "OOM when allocating")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` means the device or host ran out of memory, on any backend:
    TensorFlow's ``ResourceExhaustedError``, PyTorch's ``OutOfMemoryError``, JAX's
    ``XlaRuntimeError`` saying ``RESOURCE_EXHAUSTED``, Python's ``MemoryError``."""
    if any(t.__name__ in _OOM_TYPES for t in type(error).__mro__):
        return True
    if type(error).__name__ in {"XlaRuntimeError", "JaxRuntimeError", "RuntimeError"}:
        text = str(error)
        return any(marker in text for marker in _OOM_TEXT)
    return False


def framework_versions() -> dict[str, Any]:
    """The versions of Keras and the active framework (for logs and benchmarks)."""
    import keras

    backend = active_backend()
    module = importlib.import_module(_FRAMEWORK_MODULE[backend])
    return {"keras": keras.__version__, backend: getattr(module, "__version__", "?")}
