"""Time series panels: signals over time, with their thresholds drawn as lines and areas."""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib.core import GridPos, Target, TimeSeries

from generator.dashboards.panels.common import Override, Steps


def timeseries(*, id: int, title: str, description: str, unit: str, targets: Sequence[Target],
               grid: GridPos, steps: Steps | None = None, overrides: Sequence[Override] = (),
               minimum: int | None = None, maximum: int | None = None,
               stacked: bool = False, fill: int = 10) -> TimeSeries:
    """`steps` draws the thresholds as line and area; without them none are drawn."""
    return TimeSeries(
        id=id, title=title, description=description, unit=unit, targets=list(targets),
        gridPos=grid, thresholds=list(steps or []),
        thresholdsStyleMode="line+area" if steps and len(steps) > 1 else "off",
        overrides=list(overrides), valueMin=minimum, valueMax=maximum,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none", "group": "A"},
        fillOpacity=fill, legendDisplayMode="table", legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi", tooltipSort="desc", showPoints="never", spanNulls=False,
    )
