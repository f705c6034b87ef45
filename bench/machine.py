"""The machine the figures were measured on: CPU, cores, memory, GPU, library versions."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import Any

from core.device import cpu_model


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _gpu() -> str:
    if shutil.which("nvidia-smi") is None:
        return "none"
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "none"
    names = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return ", ".join(names) if names else "none"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def _static() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gib": _memory_gib(),
        "gpu": _gpu(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "textual": _version("textual"),
        "textual-plotext": _version("textual-plotext"),
    }


def describe_machine() -> dict[str, Any]:
    """Static facts plus the load average now: the machine is shared, so say how busy."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {**_static(), "load_average": load}


def one_line(machine: dict[str, Any]) -> str:
    """``AMD EPYC … · 2 cores · 23.4 GiB · GPU none · TF 2.20.0 / Keras 3.x / Textual 8.2.8``."""
    cores = machine.get("usable_cpus") or machine.get("cpu_count")
    return (
        f"{machine.get('cpu', '?')} · {cores} cores · {machine.get('memory_gib', '?')} GiB RAM · "
        f"GPU: {machine.get('gpu', '?')} · Python {machine.get('python', '?')}, "
        f"TensorFlow {machine.get('tensorflow', '?')}, Keras {machine.get('keras', '?')}, "
        f"Textual {machine.get('textual', '?')}"
    )
