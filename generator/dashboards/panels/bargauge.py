"""Bar gauges: several current values side by side (alerts per severity, burn per window)."""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib.core import BarGauge, GridPos, Target

from generator.dashboards.panels.common import Override, Steps


def bargauge(*, id: int, title: str, description: str, unit: str, targets: Sequence[Target],
             grid: GridPos, steps: Steps | None = None, overrides: Sequence[Override] = (),
             minimum: float | None = 0, maximum: float | None = None,
             orientation: str = "horizontal") -> BarGauge:
    panel = BarGauge(
        id=id, title=title, description=description, format=unit, targets=list(targets),
        gridPos=grid, thresholds=list(steps or [{"color": "text", "value": None}]),
        min=minimum, max=maximum, calc="lastNotNull", displayMode="basic",
        orientation=orientation,
        # grafanalib's BarGauge has no field overrides; modernise keeps this fieldConfig.
        extraJson={"fieldConfig": {"overrides": list(overrides)}},
    )
    return panel
