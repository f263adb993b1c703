"""Alert state on the graphs: one annotation query on `ALERTS` per severity, in its colour.

Prometheus writes `ALERTS{alertstate="firing", alertname, severity, team, ...}` for
every active alert, so a firing period shows on every time series of the dashboard
as a band in the severity's spec colour. A domain dashboard only shows the alerts of
its own signals; the SLO dashboard those of SLOs; the overview all of them.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import Annotations

from generator import promql
from generator.model import Spec

BUILT_IN = {
    "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
    "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
    "type": "dashboard",
}


def alert_annotations(spec: Spec, scope: str = "") -> Annotations:
    """`scope` is extra matchers on ALERTS, e.g. `signal=~"cpu_usage|memory_usage"`."""
    matchers = ",".join(m for m in (
        'alertstate="firing"', scope,
        promql.dashboard_matchers(None, tuple(sorted(spec.selectors))),
    ) if m)
    queries: list[dict[str, Any]] = [dict(BUILT_IN)]
    for severity in spec.severities.values():
        own = promql.matchers({"severity": severity.name})
        expr = promql.render(f"ALERTS{{{own},$sel}}", matchers)
        queries.append({
            "name": f"{severity.name.capitalize()} alerts ({severity.priority})",
            "enable": True, "hide": False, "iconColor": severity.colour, "expr": expr,
            "step": "60s", "titleFormat": "{{alertname}}",
            "textFormat": "{{severity}} · team {{team}}",
            "tagKeys": "severity,priority,team", "useValueForTime": False,
        })
    return Annotations(list=queries)
