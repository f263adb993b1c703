"""Gauge panels: one bounded quantity (budget consumed) against its limit."""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib.core import GaugePanel, GridPos, Target

from generator.dashboards.panels.common import Steps


def gauge(*, id: int, title: str, description: str, unit: str, targets: Sequence[Target],
          grid: GridPos, steps: Steps, minimum: float = 0, maximum: float = 1,
          decimals: int | None = None) -> GaugePanel:
    return GaugePanel(
        id=id, title=title, description=description, format=unit, targets=list(targets),
        gridPos=grid, thresholds=list(steps), min=minimum, max=maximum, decimals=decimals,
        calc="lastNotNull", thresholdMarkers=True, thresholdLabels=False,
    )
