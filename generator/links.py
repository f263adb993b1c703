"""Stable addresses of dashboards and panels.

Alert annotations (`dashboard_url`) and the dashboards themselves both call these, so
a link in a page always lands on the panel that draws the alert's signal.
"""

from __future__ import annotations

import functools
from urllib.parse import quote, urlencode

from generator.model import Spec

DASHBOARD_TITLES: dict[str, str] = {
    "overview": "Overview",
    "infrastructure": "Infrastructure",
    "application": "Application",
    "database": "Database",
    "business": "Business & security",
    "slo": "SLO detail",
    "capacity": "Capacity",
}


def dashboard_uid(spec: Spec, dashboard: str) -> str:
    """`vigil-infrastructure` for the default spec, `<name>-infrastructure` otherwise.

    Grafana uids are at most 40 characters; both parts are bounded well below that.
    """
    return f"{_owner(spec)}-{dashboard}"


def _owner(spec: Spec) -> str:
    """The spec whose dashboards draw this one's signals (itself, unless shared)."""
    return spec.dashboards_of or spec.name


def dashboard_title(spec: Spec, dashboard: str) -> str:
    owner = _owner(spec)
    prefix = "Vigil" if owner == "vigil" else f"Vigil {owner}"
    return f"{prefix} / {DASHBOARD_TITLES[dashboard]}"


def dashboard_url(spec: Spec, dashboard: str, panel_id: int | None = None) -> str:
    """The dashboard (and panel) of `spec`; on shared dashboards, opened on its selectors."""
    slug = _slug(dashboard_title(spec, dashboard))
    url = f"{spec.grafana_url}/d/{dashboard_uid(spec, dashboard)}/{slug}"
    query: list[tuple[str, str | int]] = []
    if spec.dashboards_of is not None:
        query += [(f"var-{label}", value) for label, value in sorted(spec.selectors.items())]
    if panel_id is not None:
        query.append(("viewPanel", panel_id))
    if query:
        url += "?" + urlencode(query)
    return url


@functools.lru_cache(maxsize=256)  # a few dashboards, linked from every rule and test case
def _slug(title: str) -> str:
    return quote(title.lower().replace(" / ", "-").replace(" ", "-"))


def runbook_url(spec: Spec, anchor: str) -> str:
    return f"{spec.runbook_url}#{anchor.replace('_', '-')}"
