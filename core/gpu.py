"""A live view of the NVIDIA GPU: utilisation, memory and temperature, sampled off the UI.

:class:`GpuSampler` reads NVML (the ``nvidia-ml-py`` package, in the ``gpu``, ``jax-cuda``
and ``torch`` extras) once a second in its own daemon thread and hands each reading to a
callback as a frozen :class:`GpuSnapshot`; a front end posts it on as a message. Without
NVML or an NVIDIA GPU, :func:`open_sampler` returns ``None`` and nothing runs. Independent
of the framework: it sees the whole device, other processes' use included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

SAMPLE_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class GpuSnapshot:
    """One reading of one GPU."""

    index: int
    name: str
    utilisation_percent: int
    memory_used_mib: float
    memory_total_mib: float
    temperature_c: int | None
    peak_memory_used_mib: float
    """The most memory in use at any reading since the sampler started."""

    def line(self) -> str:
        """E.g. ``GPU 0 NVIDIA H200: 87% · 12,034/143,771 MiB · 54 °C``."""
        temperature = f" · {self.temperature_c} °C" if self.temperature_c is not None else ""
        return (
            f"GPU {self.index} {self.name}: {self.utilisation_percent}% · "
            f"{self.memory_used_mib:,.0f}/{self.memory_total_mib:,.0f} MiB{temperature}"
        )


def _load_nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVMLError_*: no driver, no GPU, no permission
        return None
    module: ModuleType = pynvml
    return module


class GpuSampler:
    """Samples GPU ``index`` every ``interval`` seconds in a daemon thread.

    ``on_sample`` runs in the sampler's thread: hand the snapshot on (``post_message``),
    do not touch widgets from it. :meth:`stop` ends the thread within one interval.
    """

    def __init__(
        self,
        nvml: Any,
        on_sample: Callable[[GpuSnapshot], None],
        *,
        index: int = 0,
        interval: float = SAMPLE_INTERVAL_S,
    ) -> None:
        self._nvml = nvml
        self._on_sample = on_sample
        self._index = index
        self._interval = interval
        self._handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(self._handle)
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self._peak = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)

    @property
    def peak_memory_used_mib(self) -> float:
        return self._peak

    def sample(self) -> GpuSnapshot:
        """One reading now (also what the thread does every interval)."""
        nvml, handle = self._nvml, self._handle
        utilisation = nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        try:
            temperature: int | None = int(
                nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            )
        except Exception:  # noqa: BLE001 - some boards have no sensor
            temperature = None
        used = memory.used / 2**20
        self._peak = max(self._peak, used)
        return GpuSnapshot(
            index=self._index,
            name=self.name,
            utilisation_percent=int(utilisation.gpu),
            memory_used_mib=used,
            memory_total_mib=memory.total / 2**20,
            temperature_c=temperature,
            peak_memory_used_mib=self._peak,
        )

    def start(self) -> GpuSampler:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout if timeout is not None else 2 * self._interval)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                snapshot = self.sample()
            except Exception:  # noqa: BLE001 - a reading failed (GPU lost, driver reset): stop
                return
            self._on_sample(snapshot)
            self._stopped.wait(self._interval)


def open_sampler(
    on_sample: Callable[[GpuSnapshot], None],
    *,
    index: int = 0,
    interval: float = SAMPLE_INTERVAL_S,
) -> GpuSampler | None:
    """A started sampler for GPU ``index``, or ``None`` without NVML or an NVIDIA GPU."""
    nvml = _load_nvml()
    if nvml is None:
        return None
    try:
        if nvml.nvmlDeviceGetCount() <= index:
            return None
        return GpuSampler(nvml, on_sample, index=index, interval=interval).start()
    except Exception:  # noqa: BLE001 - NVMLError_*: treat as no GPU
        return None
