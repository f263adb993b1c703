"""Recorded capacity projections: what the capacity dashboard reads.

A 30-day trend read from raw samples on every dashboard refresh would scan a month of
per-minute data per series and panel; here it is recorded instead, in two steps:

1. `<name>.capacity.hourly` (every hour): each resource's hourly mean,
   `vigil:capacity:<resource>:avg_1h`, from the signal's recording (`vigil:cpu_usage`)
   when the spec has it, else from the catalogue expression. (promtool's unit tests
   evaluate every group at every step: a subquery here would cost every test.)
2. `<name>.capacity` (every 5 minutes, so that the dashboard's instant queries always
   find a fresh sample): from those hourly means over the spec's `capacity.trend`
   (720 samples per series for 30 days, whatever the scrape interval),
   `:trend_per_day` (deriv), `:projected_<30d>` per projection (predict_linear), and,
   for utilisations, `:peak` (the highest hourly mean: below `scale_down` a host is a
   candidate to shrink) and `:scale_up_timestamp_seconds`, the moment the trend crosses
   `scale_up` (only while it grows).

Resources are the host's CPU, memory and each filesystem (utilisations, with the
plan's lines), each database's size and the active users (growth, no line: their
limits are not known to Vigil).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import catalogue, promql, units
from generator.model import Spec
from generator.rules.signals import recording_rule

HOURLY = 3600.0
REFRESH = 300.0


@dataclass(frozen=True)
class Resource:
    name: str  # in the recorded series' names
    title: str
    expr: str  # template with $sel (and $window) like the catalogue's
    exporter: str
    by: tuple[str, ...]
    unit: str  # catalogue unit kind
    utilisation: bool  # a share of a limit: drawn against the plan's lines
    gauge: str | None = None  # a raw gauge whose hourly mean is read directly


def resources(spec: Spec) -> tuple[Resource, ...]:
    """The resources of `spec`: those of the exporters it reads, from the metrics of the
    exporter it chose for each role (a standard one's when it has them)."""
    builtin = catalogue.BUILTIN
    used = spec.used_exporters()
    found: list[Resource] = []
    if "host" in used:
        for name in ("cpu_usage", "memory_usage", "disk_usage"):
            definition = catalogue.for_source(builtin[name], spec.source_of("host"))
            if definition is not None:
                found.append(Resource(name, definition.title.replace(" usage", ""),
                                      definition.expr, "host", definition.by, "ratio", True))
    if "postgres" in used:
        gauge = ("vigil_pg_database_size_bytes" if spec.source_of("postgres") == catalogue.VIGIL
                 else "pg_database_size_bytes")
        found.append(Resource("database_size_bytes", "Database size",
                              f"sum by (instance, datname) ({gauge}{{$sel}})", "postgres",
                              ("instance", "datname"), "bytes", False, gauge))
    if "sql" in used:
        found.append(Resource("active_users", "Active users", builtin["active_users"].expr, "sql",
                              (), "count", False))
    return tuple(found)


def avg_name(resource: Resource) -> str:
    return f"vigil:capacity:{resource.name}:avg_1h"


def trend_name(resource: Resource) -> str:
    return f"vigil:capacity:{resource.name}:trend_per_day"


def projected_name(resource: Resource, ahead: float) -> str:
    return f"vigil:capacity:{resource.name}:projected_{units.format_duration(ahead)}"


def peak_name(resource: Resource) -> str:
    return f"vigil:capacity:{resource.name}:peak"


def scale_up_name(resource: Resource) -> str:
    return f"vigil:capacity:{resource.name}:scale_up_timestamp_seconds"


def _selector(spec: Spec) -> str:
    matchers = spec.matchers(None)
    return f"{{{matchers}}}" if matchers else ""


def groups(spec: Spec) -> list[dict[str, Any]]:
    labels = dict(sorted(spec.selectors.items()))
    plan = spec.capacity
    trend = units.format_duration(plan.trend)
    hourly, refresh = [], []
    found = resources(spec)
    if not found:
        return []
    for resource in found:
        hourly.append(recording_rule(avg_name(resource), _hourly_mean(spec, resource), labels))
        history = f"{avg_name(resource)}{_selector(spec)}[{trend}]"
        refresh.append(recording_rule(trend_name(resource), f"deriv({history}) * 86400", labels))
        for ahead in plan.projections:
            refresh.append(recording_rule(projected_name(resource, ahead),
                                   f"predict_linear({history}, {units.format_number(ahead)})",
                                   labels))
        if resource.utilisation:
            line = units.format_number(plan.scale_up)
            refresh.append(recording_rule(peak_name(resource), f"max_over_time({history})", labels))
            refresh.append(recording_rule(
                scale_up_name(resource),
                f"time() + ({line} - predict_linear({history}, 0)) / (deriv({history}) > 0)",
                labels))
    return [
        {"name": f"{spec.name}.capacity.hourly", "interval": units.format_duration(HOURLY),
         "rules": hourly},
        {"name": f"{spec.name}.capacity", "interval": units.format_duration(REFRESH),
         "rules": refresh},
    ]


def _hourly_mean(spec: Spec, resource: Resource) -> str:
    """The resource's mean over the last hour, read as cheaply as it can be: from the
    signal's recording when the spec has the signal, from the raw gauge for the database
    size, and from a subquery of the catalogue expression only otherwise."""
    signal = spec.signals.get(resource.name)
    if signal is not None and not signal.definition.is_counter:
        return f"avg_over_time(vigil:{resource.name}{_selector(spec)}[1h])"
    if resource.gauge is not None:
        matchers = spec.matchers(resource.exporter)
        return (f"sum by ({', '.join(resource.by)}) (avg_over_time({resource.gauge}"
                f"{{{matchers}}}[1h]))")
    source = promql.render(resource.expr, spec.matchers(resource.exporter), "5m")
    return f"avg_over_time(({source})[1h:1m])"
