"""Helpers for generator tests: the default spec as data, and writing variants of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"


@pytest.fixture(scope="session")
def default_spec_data() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_SPEC.read_text())


@pytest.fixture
def write_spec(tmp_path: Path, default_spec_data: dict[str, Any]):
    """Write the default spec with `change(data)` applied; returns the file's path."""

    def write(change=None, name: str = "spec.yaml") -> Path:
        data = copy.deepcopy(default_spec_data)
        if change is not None:
            change(data)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write
