"""Every PromQL query of a generated dashboard, and the means to run it outside Grafana.

The lint tests parse these queries offline; the end-to-end suite runs them against a
live Prometheus to prove each panel has data. Both need the same two things: the
list of (dashboard uid, panel id, panel title, expr), and the expression with
Grafana's variables and macros (`$job`, `${datasource}`, `$__rate_interval`) replaced
by what Grafana would send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

_VARIABLE_RE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class Query(NamedTuple):
    dashboard_uid: str
    panel_id: int
    panel_title: str
    expr: str


def _panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", []) if panel.get("type") == "row" else ()


def panel_queries(dashboard: Mapping[str, Any]) -> list[Query]:
    """Every panel target's expression, rows' nested panels included, in panel order."""
    return [
        Query(dashboard["uid"], panel["id"], panel.get("title", ""), target["expr"])
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def annotation_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(dashboard uid, annotation name, expr) of every Prometheus annotation query."""
    return [(dashboard["uid"], a["name"], a["expr"])
            for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace `$name` and `${name}` for the names in `values`; leave any other as is."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))
    return _VARIABLE_RE.sub(replace, expr)


def variable_values(dashboard: Mapping[str, Any], rate_interval: str = "1m",
                    interval: str = "15s", time_range: str = "1h") -> dict[str, str]:
    """What Grafana would put in the queries with the dashboard's default variable values.

    A multi-value variable becomes a regex alternation; `All` becomes its `allValue`.
    """
    values = {"__rate_interval": rate_interval, "__interval": interval, "__range": time_range}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        current = variable.get("current", {}).get("value", [])
        chosen = current if isinstance(current, list) else [current]
        if "$__all" in chosen or not chosen:
            values[variable["name"]] = variable.get("allValue") or ".*"
        elif len(chosen) == 1:
            values[variable["name"]] = re.escape(chosen[0])
        else:
            values[variable["name"]] = "(" + "|".join(re.escape(c) for c in chosen) + ")"
    return values


def executable(dashboard: Mapping[str, Any], expr: str, **kwargs: str) -> str:
    """`expr` as Prometheus would receive it from this dashboard with default variables."""
    return substitute(expr, variable_values(dashboard, **kwargs))
