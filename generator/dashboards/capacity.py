"""Capacity: today's utilisation, its trend and where it will be, against the plan's lines.

Everything here reads the recorded projections of generator/rules/capacity.py, never
raw history: a month of per-minute samples per panel refresh is what the recording
rules exist to avoid. The lines come from the spec's `capacity:` section:

- one table per utilisation (CPU, memory, each filesystem), a row per host: the last
  hour, the trend per day, the projection at each of the plan's horizons (coloured from
  `scale_up`) and the reserve left at the month's peak (coloured below `reserve`);
- the date each growing host's trend crosses `scale_up`;
- hourly means over the trend's history, with `scale_up` and `scale_down` dashed;
- the hosts whose peak stayed below `scale_down`: candidates to shrink;
- growth without a known limit, database size per database and active users: the
  same trend and projections, no lines.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import Time

from generator import units
from generator.dashboards.assemble import assemble
from generator.dashboards.context import Context, target
from generator.dashboards.layout import PanelIds
from generator.dashboards.panels.common import by_name
from generator.dashboards.panels.common import thresholds as threshold_override
from generator.dashboards.panels.row import row
from generator.dashboards.panels.table import merge, organize, table
from generator.dashboards.panels.timeseries import timeseries
from generator.dashboards.steps import OK_COLOUR, clean
from generator.model import Spec
from generator.rules import capacity as recorded
from generator.rules.capacity import Resource

UNIT = {"ratio": "percentunit", "bytes": "bytes", "count": "short"}
HIDDEN = ["Time", "__name__"]


def _q(ctx: Context, name: str) -> str:
    return ctx.query(f"{name}{{$sel}}", None)


def _column(name: str, *properties: dict[str, Any]) -> dict[str, Any]:
    return by_name(name, *properties, {"id": "custom.cellOptions",
                                       "value": {"type": "color-text"}})


def _resource_table(ctx: Context, resource: Resource) -> Any:
    plan = ctx.spec.capacity
    unit = UNIT[resource.unit]
    by = ", ".join((*resource.by, *ctx.selector_labels)) or "environment"
    # Aggregating by the identifying labels drops `__name__`, so the merge joins one row
    # per host (see the overview's SLO table).

    def q(name: str, wrap: str = "{}") -> str:
        return f"max by ({by}) ({wrap.format(_q(ctx, name))})"

    columns = [("Last hour", q(recorded.avg_name(resource), "last_over_time({}[2h])")),
               ("Trend per day", q(recorded.trend_name(resource)))]
    columns += [(f"In {units.format_duration(a)}", q(recorded.projected_name(resource, a)))
                for a in plan.projections]
    overrides = [_column("Trend per day")]
    up = [{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": clean(plan.scale_up)}]
    for name, _ in columns:
        if name.startswith("In ") or name == "Last hour":
            overrides.append(_column(name, *([threshold_override(up)] if resource.utilisation
                                             else [])))
    if resource.utilisation:
        reserve = "Reserve at peak"
        columns.append((reserve, f"1 - {q(recorded.peak_name(resource))}"))
        overrides.append(_column(reserve, threshold_override(
            [{"color": ctx.worst_colour, "value": None},
             {"color": OK_COLOUR, "value": clean(plan.reserve)}])))
    rename = {f"Value #{chr(65 + i)}": name for i, (name, _) in enumerate(columns)}
    rename.update({label: label.capitalize() for label in resource.by})
    lines = (f" Projections in the scale-up colour from {units.format_percent(plan.scale_up)};"
             f" reserve (1 - the highest hourly mean over "
             f"{units.format_duration(plan.trend)}) in it below "
             f"{units.format_percent(plan.reserve)}." if resource.utilisation else "")
    panel = table(
        id=ctx.ids(), title=f"{resource.title}: now, trend and projections", unit=unit,
        decimals=1 if unit == "percentunit" else None, grid=ctx.place(24, 7),
        description=f"{resource.title} per {' '.join(resource.by) or 'deployment'}: the last "
                    f"hour's mean, the trend per day fitted on "
                    f"{units.format_duration(plan.trend)} of hourly means, and where the trend "
                    f"leads.{lines} From capacity in {ctx.spec.source.as_posix()}.",
        targets=[target(expr, chr(65 + i), instant=True, table=True)
                 for i, (_, expr) in enumerate(columns)],
        transformations=[merge(), organize(HIDDEN, rename)],
    )
    panel.overrides = overrides
    return panel


def _history(ctx: Context, resource: Resource) -> Any:
    plan = ctx.spec.capacity
    legend = " ".join("{{" + label + "}}" for label in resource.by) or resource.title
    steps = [{"color": OK_COLOUR, "value": None}]
    if resource.utilisation:
        steps = [{"color": "blue", "value": None}, {"color": OK_COLOUR, "value": clean(plan.scale_down)},
                 {"color": ctx.worst_colour, "value": clean(plan.scale_up)}]
    return timeseries(
        id=ctx.ids(), title=f"{resource.title}: hourly means", unit=UNIT[resource.unit],
        grid=ctx.place(12, 8),
        description="Hourly means the trend is fitted on." + (
            f" Dashed: scale down below {units.format_percent(plan.scale_down)}, scale up "
            f"from {units.format_percent(plan.scale_up)}." if resource.utilisation else ""),
        targets=[target(_q(ctx, recorded.avg_name(resource)), "A", legend)],
        steps=steps, overrides=[], minimum=0,
        maximum=1 if resource.utilisation else None,
    )


def _tagged(ctx: Context, resources: list[Resource], name: Any, condition: str = "") -> str:
    """One instant query over several resources, each row labelled with its resource."""
    return " or ".join(f'label_replace({_q(ctx, name(r))}{condition}, "resource", "{r.title}", '
                       '"", "")' for r in resources)


def _scale_up_dates(ctx: Context, utilisations: list[Resource]) -> Any:
    plan = ctx.spec.capacity
    line = units.format_percent(plan.scale_up)
    return table(
        id=ctx.ids(), title=f"When the trend crosses {line} (scale up)", unit="dateTimeAsIso",
        grid=ctx.place(12, 6),
        description=f"The date each growing host or filesystem reaches the scale-up line "
                    f"({line}) on its {units.format_duration(plan.trend)} trend; a date in the "
                    "past means it is above the line already. Not growing: not listed.",
        targets=[target(_tagged(ctx, utilisations, recorded.scale_up_name), "A", instant=True,
                        table=True)],
        transformations=[organize(HIDDEN, {"Value": f"Crosses {line} on", "resource": "Resource"})],
    )


def _shrink(ctx: Context, utilisations: list[Resource]) -> Any:
    plan = ctx.spec.capacity
    line = units.format_number(plan.scale_down)
    return table(
        id=ctx.ids(), title=f"Candidates to shrink: peak below {units.format_percent(plan.scale_down)}",
        unit="percentunit", decimals=1, grid=ctx.place(12, 6),
        description=f"Hosts and filesystems whose highest hourly mean over "
                    f"{units.format_duration(plan.trend)} stayed below the scale-down line "
                    f"({units.format_percent(plan.scale_down)}).",
        targets=[target(_tagged(ctx, utilisations, recorded.peak_name, f" < {line}"), "A",
                        instant=True, table=True)],
        transformations=[organize(HIDDEN, {"Value": "Peak", "resource": "Resource"})],
    )


def dashboard(spec: Spec) -> dict[str, Any]:
    ctx = Context(spec=spec, name="capacity", ids=PanelIds())
    plan = spec.capacity
    utilisations = [r for r in recorded.resources(spec) if r.utilisation]
    growth = [r for r in recorded.resources(spec) if not r.utilisation]
    panels: list[Any] = [row(ctx, f"Utilisation: scale up at {units.format_percent(plan.scale_up)}, "
                                  f"down below {units.format_percent(plan.scale_down)}, keep "
                                  f"{units.format_percent(plan.reserve)} in reserve")]
    for resource in utilisations:
        panels.append(_resource_table(ctx, resource))
    panels.append(_scale_up_dates(ctx, utilisations))
    panels.append(_shrink(ctx, utilisations))
    panels.extend(_history(ctx, r) for r in utilisations)
    panels.append(row(ctx, "Growth: database size and active users"))
    for resource in growth:
        panels.append(_resource_table(ctx, resource))
    panels.extend(_history(ctx, r) for r in growth)
    summary = ("Capacity plan: utilisation trends and projections at "
               f"{', '.join(units.format_duration(p) for p in plan.projections)} against the "
               "scale-up, scale-down and reserve lines, and database and user growth.")
    # The forecast alerts (`90% within 4h`) are the capacity plan's short-term side: their
    # bands are drawn here as well as on their signals' dashboards.
    return assemble(spec, "capacity", summary, panels, [], 'alertname=~".+Forecast"',
                    time=Time(f"now-{units.format_duration(plan.trend)}", "now"))
