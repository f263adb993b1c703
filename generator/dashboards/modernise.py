"""Turning grafanalib's output into the classic dashboard JSON that Grafana 11/12 loads as is.

grafanalib 0.7 writes the JSON of Grafana 6/7: `schemaVersion` 12, legacy keys
(`rows`, `style`, `hideControls`, `span`, `editable` on every panel), datasources as
names or null, `'null'` strings as threshold bases, targets with `intervalFactor` and
`step` (which coarsen every query), `maxDataPoints: 100` on every panel, bar gauges in
the Grafana 6 `options.fieldOptions` layout and gauges with reduce options inside
`fieldConfig.defaults`. Grafana would migrate all of it on load, and a provisioned
dashboard that is migrated on every load never matches its file.

This is the one place that knows about those gaps. Everything else builds with
grafanalib as if it were modern; `modernise` then keeps only the keys the current
dashboard schema (schemaVersion 42) knows, points every query at the `${datasource}`
variable, and moves misplaced options to where Grafana reads them today.
"""

from __future__ import annotations

import json
from typing import Any

from grafanalib._gen import DashboardEncoder

SCHEMA_VERSION = 42
DATASOURCE_VARIABLE = "datasource"
DATASOURCE_REF = {"type": "prometheus", "uid": "${" + DATASOURCE_VARIABLE + "}"}

_DASHBOARD_KEYS = frozenset({
    "id", "uid", "title", "description", "tags", "timezone", "editable", "graphTooltip",
    "time", "timepicker", "fiscalYearStartMonth", "liveNow", "weekStart", "refresh",
    "schemaVersion", "version", "panels", "templating", "annotations", "links",
})
_PANEL_KEYS = frozenset({
    "type", "id", "targets", "title", "description", "transparent", "datasource", "gridPos",
    "links", "repeat", "repeatDirection", "maxPerRow", "transformations", "interval",
    "timeFrom", "timeShift", "options", "fieldConfig",
})
_ROW_KEYS = frozenset({"type", "collapsed", "title", "gridPos", "id", "panels", "repeat"})
_TARGET_KEYS = frozenset({"datasource", "expr", "legendFormat", "refId", "instant", "range",
                          "format", "interval", "hide"})
_FIELD_DEFAULT_KEYS = frozenset({
    "displayName", "unit", "decimals", "min", "max", "mappings", "thresholds", "color",
    "links", "noValue", "custom",
})
_VARIABLE_KEYS = frozenset({
    "type", "name", "label", "hide", "skipUrlSync", "description", "query", "datasource",
    "current", "multi", "options", "refresh", "sort", "includeAll", "allValue", "regex",
    "definition",
})
_TIMEPICKER_KEYS = frozenset({"hidden", "refresh_intervals", "nowDelay"})


def to_data(obj: Any) -> Any:
    """grafanalib objects → plain JSON data, through grafanalib's own encoder."""
    return json.loads(json.dumps(obj, cls=DashboardEncoder))


def modernise(dashboard: Any) -> dict[str, Any]:
    """A grafanalib `Dashboard` (or its JSON data) as current classic dashboard JSON."""
    raw = to_data(dashboard)
    out = {k: v for k, v in raw.items() if k in _DASHBOARD_KEYS and v is not None}
    out["schemaVersion"] = SCHEMA_VERSION
    out["editable"] = False
    out["id"] = None
    out["fiscalYearStartMonth"] = 0
    out["liveNow"] = False
    out["timepicker"] = {k: v for k, v in raw.get("timepicker", {}).items()
                         if k in _TIMEPICKER_KEYS and v is not None}
    out["panels"] = [_panel(p) for p in raw.get("panels", [])]
    out["templating"] = {"list": [_variable(v) for v in raw["templating"]["list"]]}
    out["annotations"] = {"list": [_annotation(a) for a in raw["annotations"]["list"]]}
    return out


def _panel(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("type") == "row":
        row = {k: v for k, v in raw.items() if k in _ROW_KEYS and v is not None}
        row["panels"] = [_panel(p) for p in raw.get("panels", [])]
        return row
    if raw.get("type") == "bargauge":
        raw = _bargauge_options(raw)
    if raw.get("type") == "gauge":
        raw = _gauge_options(raw)
    panel = {k: v for k, v in raw.items() if k in _PANEL_KEYS and v not in (None, "")}
    if not panel.get("repeat"):
        for key in ("repeat", "repeatDirection", "maxPerRow"):
            panel.pop(key, None)
    for key in ("links", "transformations"):
        if not panel.get(key):
            panel.pop(key, None)
    panel["datasource"] = dict(DATASOURCE_REF)
    panel["targets"] = [_target(t) for t in raw.get("targets", [])]
    panel["fieldConfig"] = _field_config(raw.get("fieldConfig", {}))
    return panel


def _target(raw: dict[str, Any]) -> dict[str, Any]:
    target = {k: v for k, v in raw.items() if k in _TARGET_KEYS and v not in (None, "")}
    if not target.get("hide"):
        target.pop("hide", None)
    target["datasource"] = dict(DATASOURCE_REF)
    target["instant"] = bool(raw.get("instant"))
    target["range"] = not target["instant"]
    return target


def _field_config(raw: dict[str, Any]) -> dict[str, Any]:
    defaults = {k: v for k, v in raw.get("defaults", {}).items()
                if k in _FIELD_DEFAULT_KEYS and v is not None}
    thresholds = defaults.get("thresholds") or {}
    steps = [_step(s) for s in thresholds.get("steps") or []]
    defaults["thresholds"] = {"mode": thresholds.get("mode", "absolute"),
                              "steps": steps or [{"color": "green", "value": None}]}
    if not isinstance(defaults.get("color"), dict):
        defaults["color"] = {"mode": "thresholds"}
    defaults["custom"] = _drop_none(defaults.get("custom") or {})
    defaults.setdefault("mappings", [])
    return {"defaults": defaults, "overrides": list(raw.get("overrides") or [])}


def _step(raw: dict[str, Any]) -> dict[str, Any]:
    """grafanalib's Threshold writes the base step's value as the string 'null'."""
    value = raw.get("value")
    return {"color": raw["color"], "value": None if value in (None, "null") else value}


def _bargauge_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Move the Grafana 6 `options.fieldOptions` into `fieldConfig` and `reduceOptions`."""
    raw = dict(raw)
    options = dict(raw.get("options") or {})
    legacy = options.pop("fieldOptions", {}) or {}
    defaults = dict((raw.get("fieldConfig") or {}).get("defaults") or {})
    for key, value in (legacy.get("defaults") or {}).items():
        if key in ("unit", "min", "max", "decimals") and value is not None:
            defaults.setdefault(key, value)
    options["reduceOptions"] = {"calcs": legacy.get("calcs") or ["lastNotNull"],
                                "fields": "", "values": bool(legacy.get("values"))}
    raw["options"] = options
    raw["fieldConfig"] = {**(raw.get("fieldConfig") or {}), "defaults": defaults}
    return raw


def _gauge_options(raw: dict[str, Any]) -> dict[str, Any]:
    """grafanalib puts the gauge's reduce options and markers inside `fieldConfig`."""
    raw = dict(raw)
    field_config = dict(raw.get("fieldConfig") or {})
    defaults = dict(field_config.get("defaults") or {})
    options = dict(raw.get("options") or {})
    options["reduceOptions"] = {"calcs": defaults.pop("calcs", None) or ["lastNotNull"],
                                "fields": "", "values": bool(defaults.pop("values", False))}
    options["showThresholdLabels"] = bool(field_config.pop("showThresholdLabels", False))
    options["showThresholdMarkers"] = bool(field_config.pop("showThresholdMarkers", True))
    for key in ("title", "limit", "override"):
        defaults.pop(key, None)
    if not defaults.get("links"):
        defaults.pop("links", None)
    field_config["defaults"] = defaults
    raw["fieldConfig"] = field_config
    raw["options"] = options
    return raw


def _variable(raw: dict[str, Any]) -> dict[str, Any]:
    variable = {k: v for k, v in raw.items() if k in _VARIABLE_KEYS and v is not None}
    if variable.get("type") == "query":
        variable["datasource"] = dict(DATASOURCE_REF)
        variable.setdefault("definition", variable.get("query", ""))
    else:
        variable.pop("datasource", None)
    variable.setdefault("regex", "")
    current = variable.get("current") or {}
    variable["current"] = {k: v for k, v in current.items()
                           if k in ("selected", "text", "value") and v is not None}
    if not variable["current"]:
        variable.pop("current")
    return variable


def _annotation(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("builtIn"):
        return raw
    return {**raw, "datasource": dict(DATASOURCE_REF)}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _drop_none(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None}
