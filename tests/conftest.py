"""Fixtures shared by the test files: synthetic data, isolated folders, the real-data marker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.data import Dataset, prepare, synthetic_raw

DEBIAN_TRAIN_IMAGES = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")

real_data_available = pytest.mark.skipif(
    not DEBIAN_TRAIN_IMAGES.is_file(),
    reason=f"needs the Debian Fashion-MNIST files ({DEBIAN_TRAIN_IMAGES.parent})",
)
"""Skip marker for tests that need the real data set; added to every ``real_data`` test."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("real_data") is not None:
            item.add_marker(real_data_available)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep runs and logs in the test's tmp folder and TensorFlow's chatter down."""
    monkeypatch.setenv("FMNIST_RUNS_DIR", str(tmp_path / "env-runs"))
    monkeypatch.setenv("FMNIST_LOG_DIR", str(tmp_path / "env-logs"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def synthetic_dataset() -> Dataset:
    """400 train, 100 validation and 100 test images of ten learnable shapes (read-only)."""
    return prepare(synthetic_raw(train=500, test=100, seed=0))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the whole session (``sweeps_pg.PostgresServer``),
    stopped and deleted after it: starting one costs seconds, a database a fraction of one.
    The tests that need it skip, saying why, when none can be started here."""
    from sweeps_pg import postgres_server, why_not

    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres(postgres_server: Any) -> Iterator[Any]:
    """The session's PostgreSQL server with an empty database of this test's own (its
    ``url`` names it), dropped after the test; a test may stop and start the server."""
    database = postgres_server.new_database()
    try:
        yield database
    finally:
        database.start_if_stopped()
        database.drop_database()
