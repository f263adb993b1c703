"""Dashboard test helpers: the default spec's dashboards, and variants of the spec."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.dashboards import dashboards
from generator.dashboards.exemptions import exemptions
from generator.loader import load_spec
from generator.model import Spec

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(DEFAULT_SPEC)


@pytest.fixture(scope="session")
def built(spec: Spec) -> dict[str, dict[str, Any]]:
    return dashboards(spec)


@pytest.fixture(scope="session")
def spec_exemptions(spec: Spec):
    return exemptions(spec)


@pytest.fixture(scope="session")
def spec_data() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))


@pytest.fixture
def write_spec(tmp_path: Path, spec_data: dict[str, Any]) -> Callable[..., Path]:
    """Write the default spec with `change(data)` applied; returns the file's path."""

    def write(change: Callable[[dict[str, Any]], None] | None = None,
              name: str = "spec.yaml") -> Path:
        data = copy.deepcopy(spec_data)
        if change is not None:
            change(data)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    return write


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included, rows' nested panels included."""
    result = []
    for panel in dashboard["panels"]:
        result.append(panel)
        result.extend(panel.get("panels", []))
    return result


def panel(dashboard: dict[str, Any], panel_id: int) -> dict[str, Any]:
    return next(p for p in panels_of(dashboard) if p["id"] == panel_id)
