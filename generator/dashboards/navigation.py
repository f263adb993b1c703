"""Links between Vigil's dashboards, shown at the top of each one.

Links are relative (`/d/<uid>`) rather than `grafana_url`-absolute, so they work from
whatever address Grafana is reached at; they keep the time range and variables, so
following one keeps the on-call engineer looking at the same incident window.
"""

from __future__ import annotations

from grafanalib.core import DashboardLink

from generator import catalogue, links
from generator.model import Spec

ORDER = ("overview", "infrastructure", "application", "database", "business", "slo", "capacity")


def present(spec: Spec) -> tuple[str, ...]:
    """The dashboards generated for this spec, in ORDER: no empty ones.

    The overview always; a signal dashboard when it draws a spec signal or the spec
    reads its exporter (its own panels); the SLO dashboard when there is an SLO; the
    capacity dashboard when the spec reads the host exporter (its utilisations).
    """
    used = spec.used_exporters()
    drawn = {s.definition.dashboard for s in spec.signals.values()}
    return tuple(name for name in ORDER if name == "overview"
                 or (name == "slo" and spec.slos)
                 or (name == "capacity" and "host" in used)
                 or name in drawn
                 or catalogue.DASHBOARD_EXPORTERS.get(name) in used)


def path(spec: Spec, dashboard: str, panel_id: int | None = None) -> str:
    suffix = f"?viewPanel={panel_id}" if panel_id is not None else ""
    return f"/d/{links.dashboard_uid(spec, dashboard)}{suffix}"


def dashboard_links(spec: Spec, current: str) -> list[DashboardLink]:
    return [
        DashboardLink(title=links.DASHBOARD_TITLES[name], type="link", uri=path(spec, name),
                      icon="dashboard", tooltip=links.dashboard_title(spec, name),
                      keepTime=True, includeVars=True)
        for name in present(spec) if name != current
    ]


def panel_link(spec: Spec, dashboard: str, title: str, panel_id: int | None = None) -> DashboardLink:
    return DashboardLink(title=title, type="link", uri=path(spec, dashboard, panel_id),
                         icon="dashboard", keepTime=True, includeVars=True)
