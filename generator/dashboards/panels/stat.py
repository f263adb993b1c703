"""Stat panels: one number now, coloured by its thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib.core import GridPos, Stat, Target

from generator.dashboards.panels.common import Override, Steps


def stat(*, id: int, title: str, description: str, unit: str, targets: Sequence[Target],
         grid: GridPos, steps: Steps | None = None, overrides: Sequence[Override] = (),
         decimals: int | None = None, no_value: str = "No data", graph: bool = False,
         colour_mode: str = "value", text_mode: str = "auto",
         mappings: Sequence[dict[str, Any]] = (),
         links: Sequence[dict[str, Any]] = ()) -> Stat:
    """The last value (not grafanalib's default mean), which is what an alert compares."""
    return Stat(
        id=id, title=title, description=description, format=unit, targets=list(targets),
        gridPos=grid, thresholds=list(steps or [{"color": "text", "value": None}]),
        overrides=list(overrides), decimals=decimals, noValue=no_value,
        graphMode="area" if graph else "none", colorMode=colour_mode, textMode=text_mode,
        reduceCalc="lastNotNull", mappings=list(mappings), links=list(links),
        color={"mode": "thresholds"},
    )
