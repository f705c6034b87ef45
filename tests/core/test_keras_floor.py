"""Safe loading (``safe_mode=True``) is only as safe as the Keras underneath it: the project asks
for a Keras with every published ``safe_mode`` bypass fixed, and runs on one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import keras
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
SAFE_FROM = Version("3.14")
"""CVE-2025-1550 (fixed in 3.9), CVE-2025-8747 and CVE-2025-9906 (3.11), CVE-2026-1462 (3.14)."""


def test_the_keras_floor_admits_no_version_with_a_known_safe_mode_bypass() -> None:
    """Mutation: ``keras>=3.8`` (the old floor) in pyproject.toml fails this."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (keras_requirement,) = [d for d in project["project"]["dependencies"] if d.startswith("keras")]
    floor = re.search(r">=\s*([0-9.]+)", keras_requirement)
    assert floor is not None, f"no lower bound on Keras: {keras_requirement!r}"
    assert Version(floor.group(1)) >= SAFE_FROM, keras_requirement
    assert Version(keras.__version__) >= SAFE_FROM
