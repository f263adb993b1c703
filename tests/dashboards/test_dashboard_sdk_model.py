"""Every generated dashboard reads as Grafana's own dashboard model, in any checkout.

test_dashboard_schema.py validates against the JSON Schema in ../shared/schemas when
that directory is there; a fresh clone does not have it. This check needs only the
`[test]` extra: each dashboard is decoded with grafana-foundation-sdk's
`Dashboard.from_json` (Grafana's published model, generated from its schema) and
encoded again. The model reads only the keys it knows, so a misspelt or misplaced key
(`gridpos`, thresholds' `step`) comes back missing; every panel type must be one the
SDK knows, and every query must decode as a Prometheus query.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from grafana_foundation_sdk.cog import encoder, runtime
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard
from grafana_foundation_sdk.models.prometheus import Dataquery as PrometheusQuery

from generator.dashboards import BUILDERS
from tests.dashboards.conftest import panels_of

# Keys Vigil writes that the SDK's model does not carry (Grafana reads them: the
# ../shared JSON Schema checks them where it is present), as paths with [] for indices.
NOT_IN_MODEL = {
    "/id",  # null: Grafana assigns it on import
    "/templating/list[]/definition",  # the query shown in the variable editor
    *(f"/annotations/list[]/{k}" for k in ("useValueForTime", "titleFormat", "textFormat",
                                           "tagKeys", "step")),  # Prometheus annotation options
    "/panels[]/options/showThresholdMarkers", "/panels[]/options/showThresholdLabels",  # gauge
}

register_default_plugins()


def _round_trip(dashboard: dict[str, Any]) -> dict[str, Any]:
    model = Dashboard.from_json(copy.deepcopy(dashboard))
    return json.loads(json.dumps(model, cls=encoder.JSONEncoder))


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where the round trip lost or changed something, outside NOT_IN_MODEL."""
    if re.sub(r"\[\d+\]", "[]", path) in NOT_IN_MODEL:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key, value in before.items():
            if key not in after:
                if re.sub(r"\[\d+\]", "[]", f"{path}/{key}") not in NOT_IN_MODEL:
                    found.append(f"{path}/{key}: not in Grafana's dashboard model")
                continue
            found.extend(_differences(value, after[key], f"{path}/{key}"))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in _differences(b, a, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r} read as {after!r}"]


def sdk_problems(dashboard: dict[str, Any]) -> list[str]:
    """What Grafana's dashboard model makes of `dashboard` that differs from it."""
    try:
        model = Dashboard.from_json(copy.deepcopy(dashboard))
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        return [f"not a dashboard to Grafana's model: {err!r}"]
    problems = _differences(dashboard, _round_trip(dashboard))
    for panel in panels_of(dashboard):
        if panel.get("type") != "row" and runtime.panelcfg_config(panel.get("type", "")) is None:
            problems.append(f"panel {panel.get('id')}: unknown panel type {panel.get('type')!r}")
    for panel in model.panels or []:
        for nested in [panel, *(getattr(panel, "panels", None) or [])]:
            for query in getattr(nested, "targets", None) or []:
                if not isinstance(query, PrometheusQuery):
                    problems.append(f"panel {nested.id_val}: a query that is not Prometheus's")
    return problems


@pytest.mark.parametrize("name", list(BUILDERS))
def test_dashboard_reads_as_grafanas_model(built, name):
    dashboard = built[name]
    assert sdk_problems(dashboard) == []
    # what the comparison covers: every panel's type, grid, datasource and queries read
    # back as they are; the model may add its defaults (a table's `custom`), never lose
    after = _round_trip(dashboard)
    for panel, read in zip(panels_of(dashboard), panels_of(after), strict=True):
        for key in ("type", "gridPos", "datasource", "targets"):
            assert read.get(key) == panel.get(key), (panel["id"], key)
        assert _differences(panel.get("fieldConfig"), read.get("fieldConfig")) == []


def _first_panel_with(dashboard: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in panels_of(dashboard) if key in p and p["type"] != "row")


def _misspell_grid(d):
    panel = _first_panel_with(d, "gridPos")
    panel["gridpos"] = panel.pop("gridPos")


def _unknown_type(d):
    _first_panel_with(d, "targets")["type"] = "timeseries2"


def _not_prometheus(d):
    panel = _first_panel_with(d, "targets")
    panel["datasource"] = {"type": "loki", "uid": "x"}
    for target in panel["targets"]:
        target["datasource"] = {"type": "loki", "uid": "x"}


def _misspell_steps(d):
    thresholds = _first_panel_with(d, "fieldConfig")["fieldConfig"]["defaults"]["thresholds"]
    thresholds["step"] = thresholds.pop("steps")


def _panels_not_a_list(d):
    d["panels"] = {"a": 1}


@pytest.mark.parametrize("break_it", [_misspell_grid, _unknown_type, _not_prometheus,
                                      _misspell_steps, _panels_not_a_list],
                         ids=lambda f: f.__name__.lstrip("_"))
def test_a_malformed_dashboard_fails(built, break_it):
    dashboard = copy.deepcopy(built["infrastructure"])
    break_it(dashboard)
    assert sdk_problems(dashboard) != []
