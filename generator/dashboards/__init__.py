"""Grafana dashboards and provisioning from the spec: `outputs(spec)` is the entry point.

Dashboards are built with grafanalib, one module per dashboard (overview.py,
infrastructure.py, application.py, database.py, business.py, slo.py) over one factory
per panel kind (panels/), and corrected into current dashboard JSON by modernise.py.
Nothing here writes files: `vigil generate` writes what `outputs` returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from generator.dashboards import (
    application,
    business,
    database,
    infrastructure,
    overview,
    provisioning,
    slo,
)
from generator.model import Spec

BUILDERS: dict[str, Callable[[Spec], dict[str, Any]]] = {
    "overview": overview.dashboard,
    "infrastructure": infrastructure.dashboard,
    "application": application.dashboard,
    "database": database.dashboard,
    "business": business.dashboard,
    "slo": slo.dashboard,
}


def dashboard_path(name: str) -> str:
    return f"dashboards/{name}.json"


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboards(spec: Spec) -> dict[str, dict[str, Any]]:
    """Each dashboard's JSON data by name, before serialisation (for tests and tools)."""
    return {name: build(spec) for name, build in BUILDERS.items()}


def outputs(spec: Spec) -> dict[str, str]:
    files = {dashboard_path(name): render_json(data) for name, data in dashboards(spec).items()}
    files[provisioning.DATASOURCES_FILE] = provisioning.datasources(spec)
    files[provisioning.DASHBOARDS_FILE] = provisioning.dashboards(spec)
    return dict(sorted(files.items()))
