"""Template variables: the datasource, one per spec selector label, then job and instance.

Each follows the dashboard linter's expectations: a `datasource` variable of type
prometheus, and `job`/`instance` query variables that use it, are multi-select, and
match everything with `.+` when "All" is picked. The selector variables
(`environment`) default to the spec's own value, so a dashboard generated from a
staging spec opens on staging; `All` there is `.*` because a selector label may be
absent from series outside Vigil's scrape jobs.
"""

from __future__ import annotations

from collections.abc import Iterable

from grafanalib.core import Template, Templating

from generator import promql
from generator.dashboards.modernise import DATASOURCE_VARIABLE
from generator.model import Spec

DATASOURCE_UID = "vigil-prometheus"
DATASOURCE_NAME = "Vigil Prometheus"
REFRESH_ON_TIME_RANGE_CHANGE = 2
SORT_ALPHABETICAL = 1


def _all() -> dict[str, object]:
    return {"selected": True, "text": ["All"], "value": ["$__all"]}


def _query(name: str, label: str, query: str, all_value: str,
           current: dict[str, object] | None = None) -> Template:
    template = Template(
        name=name, label=label, query=query, type="query", multi=True, includeAll=True,
        allValue=all_value, refresh=REFRESH_ON_TIME_RANGE_CHANGE, sort=SORT_ALPHABETICAL,
        regex="",
    )
    template._current = current or _all()
    return template


def _jobs(spec: Spec, exporters: Iterable[str]) -> str:
    """The exporters' job names as one quoted PromQL regex, each name matched literally."""
    return promql.quote("|".join(promql.regex_literal(spec.jobs[e]) for e in sorted(exporters)))


def _up(spec: Spec, exporters: Iterable[str], extra: str = "") -> str:
    selectors = "".join(f',{label}=~"${label}"' for label in sorted(spec.selectors))
    return f'up{{job=~{_jobs(spec, exporters)}{selectors}{extra}}}'


def templating(spec: Spec, exporters: Iterable[str]) -> Templating:
    """Variables for a dashboard whose panels read the given exporters' jobs."""
    exporters = sorted(set(exporters)) or sorted(spec.jobs)
    datasource = Template(name=DATASOURCE_VARIABLE, label="Data source", query="prometheus",
                          type="datasource", refresh=1, regex="")
    datasource._current = {"selected": True, "text": DATASOURCE_NAME, "value": DATASOURCE_UID}
    result = [datasource]
    for label in sorted(spec.selectors):
        value = spec.selectors[label]
        result.append(_query(
            label, label.replace("_", " ").capitalize(),
            f'label_values(up{{job=~{_jobs(spec, exporters)}}}, {label})', ".*",
            {"selected": True, "text": [value], "value": [value]},
        ))
    result.append(_query("job", "Job", f"label_values({_up(spec, exporters)}, job)", ".+"))
    by_job = _up(spec, exporters, ',job=~"$job"')
    result.append(_query("instance", "Instance", f"label_values({by_job}, instance)", ".+"))
    return Templating(list=result)
