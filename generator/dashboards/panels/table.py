"""Tables: instant queries shown as rows of labels (firing alerts, SLO summary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib.core import GridPos, Table, Target


def table(*, id: int, title: str, description: str, unit: str, targets: Sequence[Target],
          grid: GridPos, transformations: Sequence[dict[str, Any]] = (),
          decimals: int | None = None) -> Table:
    return Table(
        id=id, title=title, description=description, unit=unit, targets=list(targets),
        gridPos=grid, transformations=list(transformations), filterable=True,
        extraJson={"fieldConfig": {"defaults": {"decimals": decimals}}} if decimals is not None
        else None,
    )


def organize(hide: Sequence[str], rename: dict[str, str] | None = None) -> dict[str, Any]:
    """Grafana's `organize` transformation: drop columns, give the rest readable names."""
    return {"id": "organize", "options": {
        "excludeByName": {name: True for name in hide},
        "renameByName": dict(rename or {}),
        "indexByName": {},
    }}


def merge() -> dict[str, Any]:
    """Join several instant queries on their common labels into one row per series."""
    return {"id": "merge", "options": {}}
