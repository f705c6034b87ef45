"""Every backend: TensorFlow, JAX and PyTorch train, save, resume after a kill and export, and
a run trained on one opens on the others. Also the backend seam and the GPU sampler.

One process can hold one Keras backend, so each backend's checks run in fresh processes
(``fmnist-tui --backend NAME`` and ``tests/backend_probe.py``). A backend whose framework is
not installed is skipped with the command that installs it; CI installs all three.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import ALL_BACKENDS, cli, env_for, fmnist_tui, wait_for_checkpoint, write_data_dir

from core.backend import BACKENDS, BackendError, installed, is_out_of_memory, select_backend
from core.config import ConfigError, TrainConfig
from core.data import synthetic_raw
from core.gpu import GpuSampler, GpuSnapshot, open_sampler
from core.runs.catalogue import list_runs, load_run
from core.runs.layout import HISTORY_JSON

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 3
PROBE = ROOT / "tests" / "backend_probe.py"


def probe(tmp_path: Path, backend: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(PROBE), backend, *args],
        env=env_for(tmp_path, backend),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough that an epoch takes a moment, so a kill lands inside one."""
    raw = synthetic_raw(train=6000, test=300, seed=1)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


_uninterrupted: dict[str, Path] = {}


def uninterrupted_run(backend: str, data_dir: Path, tmp_path: Path) -> Path:
    """A run of EPOCHS epochs trained by ``fmnist-tui train`` on ``backend``, in a process
    that reports whether it imported TensorFlow (once per backend)."""
    if backend not in _uninterrupted:
        folder = tmp_path / f"uninterrupted-{backend}"
        result = probe(
            folder, backend, "train", "--epochs", str(EPOCHS), "--data-dir", str(data_dir),
            "--runs-dir", str(folder / "runs"), "--no-export",
        )  # fmt: skip
        assert result["code"] == 0
        assert result["backend"] == backend
        assert result["tensorflow_imported"] == (backend == "tensorflow")
        [run] = list_runs(folder / "runs")
        _uninterrupted[backend] = run.path
    return _uninterrupted[backend]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_kill_and_resume_trains_like_an_uninterrupted_run(
    backend: str, data_dir: Path, tmp_path: Path
) -> None:
    reference = load_run(uninterrupted_run(backend, data_dir, tmp_path))
    config = json.loads((reference.path / "config.json").read_text())
    assert config["backend"] == backend, "config.json names the backend"

    process = subprocess.Popen(
        [*fmnist_tui(), "--backend", backend, "train", "--epochs", str(EPOCHS),
         "--data-dir", str(data_dir), "--no-export"],
        env=env_for(tmp_path, backend),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        run_dir = wait_for_checkpoint(tmp_path / "runs", 1, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    [listing] = list_runs(tmp_path / "runs")
    assert listing.status == "interrupted" and listing.resumable
    done = listing.checkpoint_epoch
    assert done is not None and 1 <= done < EPOCHS

    resumed = cli(tmp_path, backend, "--backend", backend, "train", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert f"· {backend}" in resumed.stdout, "the device line names the backend"
    epochs = [row["epoch"] for row in json.loads((run_dir / HISTORY_JSON).read_text())["epochs"]]
    assert epochs == list(range(1, EPOCHS + 1)), "every epoch once"
    run = load_run(run_dir)
    assert run.status == "finished"
    # Same batches (a function of seed and epoch), weights and optimizer state: the resumed
    # epochs are the uninterrupted run's, within float rounding.
    for mine, theirs in zip(run.history, reference.history, strict=True):
        assert mine.val_loss == pytest.approx(theirs.val_loss, rel=1e-3, abs=1e-4)
    assert run.test_accuracy == pytest.approx(reference.test_accuracy, abs=0.005)
    assert sorted(p.name for p in run_dir.glob("*.png")), "train wrote the plots"

    exported = cli(tmp_path, backend, "export", str(run_dir), "--out", str(tmp_path / "png"))
    assert exported.returncode == 0, exported.stderr
    assert len(list((tmp_path / "png").glob("*.png"))) == 3


@pytest.mark.slow
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_model_files_of_every_backend_classify_raw_images_in_plain_keras(
    backend: str, data_dir: Path, tmp_path: Path
) -> None:
    """``model.keras`` takes uint8 images: a plain Keras script on ``backend`` classifies the
    test set at each run's own test accuracy, whichever backend trained it."""
    runs = {
        trained_on: load_run(uninterrupted_run(trained_on, data_dir, tmp_path))
        for trained_on in BACKENDS
        if installed(trained_on)
    }
    files = {trained_on: str(run.path / "model.keras") for trained_on, run in runs.items()}
    result = probe(tmp_path, backend, "classify", str(data_dir), *files.values())
    assert result["count"] == 300
    assert result["tensorflow_imported"] == (backend == "tensorflow")
    for trained_on, run in runs.items():
        assert run.test_accuracy is not None
        accuracy = result["accuracies"][files[trained_on]]
        assert accuracy == pytest.approx(run.test_accuracy, abs=1 / 300), trained_on


@pytest.mark.slow
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_a_diverging_loss_fails_alike_on_every_backend(backend: str, tmp_path: Path) -> None:
    result = probe(tmp_path, backend, "nan")
    assert result["kind"] == "nan_loss"
    assert result["message"].startswith(
        "training diverged at learning rate 1e+10: loss became nan in epoch 1"
    )


@pytest.mark.slow
@pytest.mark.skipif(not installed("jax"), reason="the jax backend is not installed")
def test_jax_runs_each_calls_batches_in_one_device_loop_with_the_same_result(
    tmp_path: Path,
) -> None:
    result = probe(tmp_path, "jax", "device-loop")
    scan, python = result["scan"], result["python"]
    assert scan["train_function"] == "ScanTrainFunction"
    assert python["train_function"] != "ScanTrainFunction"
    assert scan["iterations"] == python["iterations"] == 2 * 13
    for mine, theirs in zip(scan["history"], python["history"], strict=True):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-5), key


def test_select_backend_says_how_to_install_a_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setattr("core.backend.installed", lambda name: False)
    with pytest.raises(BackendError, match=r"the jax backend is not installed: uv sync --extra"):
        select_backend("jax")


def test_select_backend_refuses_a_second_backend_in_one_process() -> None:
    import keras

    running = keras.backend.backend()
    other = next(name for name in BACKENDS if name != running)
    with pytest.raises(BackendError, match=f"already runs on {running}"):
        select_backend(other)
    select_backend(running)  # the same one is fine


def test_cli_rejects_an_unknown_backend_in_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "tensorflow", "--backend", "mxnet", "summary")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown backend 'mxnet'; choose one of tensorflow, jax, torch" in result.stderr


def test_config_saves_the_backend_and_old_runs_were_tensorflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert TrainConfig().backend == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    assert TrainConfig().backend == "tensorflow"
    old = TrainConfig(backend="torch").to_dict()
    del old["backend"]
    assert TrainConfig.from_dict(old).backend == "tensorflow"
    with pytest.raises(ConfigError, match="unknown backend"):
        TrainConfig(backend="theano")


def test_out_of_memory_is_recognised_by_name_and_text() -> None:
    class ResourceExhaustedError(Exception):
        pass

    class XlaRuntimeError(Exception):
        pass

    assert is_out_of_memory(ResourceExhaustedError("OOM when allocating"))
    assert is_out_of_memory(XlaRuntimeError("RESOURCE_EXHAUSTED: out of memory"))
    assert not is_out_of_memory(XlaRuntimeError("INVALID_ARGUMENT"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_light_modules_import_no_framework() -> None:
    script = (
        "import sys, json; import core.backend, core.batches, core.gpu, tui.cli; "
        "print(json.dumps(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', "
        "'pynvml') if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


class FakeNvml:
    """The few NVML calls the sampler makes, with scripted readings."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, used_mib: list[int]) -> None:
        self.used = list(used_mib)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle: str) -> bytes:
        return b"NVIDIA H200"

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        return SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        used = self.used.pop(0) if len(self.used) > 1 else self.used[0]
        return SimpleNamespace(used=used * 2**20, total=143_771 * 2**20)

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return 54


def test_gpu_sampler_reports_snapshots_off_the_calling_thread() -> None:
    snapshots: list[GpuSnapshot] = []
    threads: set[str] = set()
    two = threading.Event()

    def on_sample(snapshot: GpuSnapshot) -> None:
        snapshots.append(snapshot)
        threads.add(threading.current_thread().name)
        if len(snapshots) >= 3:
            two.set()

    sampler = GpuSampler(FakeNvml([1000, 12_034, 5000]), on_sample, interval=0.01).start()
    assert two.wait(5)
    sampler.stop()
    assert threads == {"gpu-sampler"}
    first = snapshots[0]
    assert first.line() == "GPU 0 NVIDIA H200: 87% · 1,000/143,771 MiB · 54 °C"
    assert snapshots[2].memory_used_mib == 5000
    assert snapshots[2].peak_memory_used_mib == 12_034
    assert sampler.peak_memory_used_mib >= 12_034


def test_no_nvml_means_no_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    assert open_sampler(lambda snapshot: None) is None
