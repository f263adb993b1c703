"""What every panel kind shares: threshold steps and per-series overrides."""

from __future__ import annotations

from typing import Any

Steps = list[dict[str, Any]]
Override = dict[str, Any]


def by_name(name: str, *properties: dict[str, Any]) -> Override:
    """Override for the series displayed as `name` (a fixed legend).

    Grafana's `byNames` matcher, not `byName`/`byFrameRefID`: those take a bare string
    as options, which the dashboard schema rejects (matcher options are objects).
    """
    return {"matcher": {"id": "byNames", "options": {"mode": "include", "names": [name]}},
            "properties": list(properties)}


def fixed_colour(colour: str) -> dict[str, Any]:
    return {"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}


def thresholds(steps: Steps) -> dict[str, Any]:
    return {"id": "thresholds", "value": {"mode": "absolute", "steps": steps}}


def dashed_line() -> dict[str, Any]:
    return {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}


def dashed_thresholds() -> dict[str, Any]:
    return {"id": "custom.thresholdsStyle", "value": {"mode": "dashed"}}
