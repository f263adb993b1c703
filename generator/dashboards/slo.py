"""SLO detail: a row per SLO with its SLI, burn rate per alerting window and budget consumed.

Rows are generated from `spec.slos`, one per SLO, rather than one Grafana row repeated
over an `slo` variable. A repeated row shares one set of panels, so it cannot draw each
SLO's own objective, burn-rate factors (14.4 over 1 h for one SLO, other windows for
another) or exhaustion colour: thresholds are static JSON. Repeated panels also get
their ids at view time, which would break stable `viewPanel` links. Generated rows keep
every number exact, and the same code serves one SLO or fifty (four panels and a row
each, ids from 100 upwards).
"""

from __future__ import annotations

from typing import Any

from generator import units
from generator.dashboards import slo_series as series
from generator.dashboards.assemble import assemble
from generator.dashboards.context import Context, ref_ids, target
from generator.dashboards.layout import PanelIds
from generator.dashboards.panels.common import by_name, dashed_line, dashed_thresholds, fixed_colour
from generator.dashboards.panels.common import thresholds as threshold_override
from generator.dashboards.panels.gauge import gauge
from generator.dashboards.panels.row import row
from generator.dashboards.panels.stat import stat
from generator.dashboards.panels.timeseries import timeseries
from generator.dashboards.steps import OK_COLOUR, clean
from generator.model import Slo, Spec


def objective_steps(ctx: Context, slo: Slo) -> list[dict[str, Any]]:
    """Below the objective in the exhaustion alert's colour, at or above it in green."""
    return [{"color": series.exhaustion_colour(ctx), "value": None},
            {"color": OK_COLOUR, "value": clean(slo.objective)}]


def sli_stat(ctx: Context, slo: Slo, width: int, height: int, title: str | None = None) -> Any:
    period = series.window_label(slo.period)
    return stat(
        id=ctx.ids(), title=title or f"{slo.title} over {period}", unit="percentunit",
        grid=ctx.place(width, height), decimals=3, graph=False,
        description=f"{slo.description} Objective {units.format_percent(slo.objective)}: "
                    "green at or above it.".strip(),
        targets=[target(series.sli(ctx, slo, period))], steps=objective_steps(ctx, slo),
    )


def sli_timeseries(ctx: Context, slo: Slo, width: int, height: int) -> Any:
    window = series.finest_window(slo)
    return timeseries(
        id=ctx.ids(), title=f"{slo.title} SLI ({window} windows)", unit="percentunit",
        grid=ctx.place(width, height),
        description=f"The SLI over each {window} (share of good events) against the objective "
                    f"of {units.format_percent(slo.objective)} (dashed).",
        targets=[target(series.sli(ctx, slo, window), "A", "SLI"),
                 target(series.objective(ctx, slo), "B", "objective")],
        overrides=[by_name("objective", dashed_line(), fixed_colour("text"))],
        steps=objective_steps(ctx, slo),
    )


def burn_rate_panel(ctx: Context, slo: Slo, width: int, height: int) -> Any:
    targets = []
    overrides = []
    for ref, window in zip(ref_ids(), slo.windows, strict=False):
        long, short = series.window_label(window.long), series.window_label(window.short)
        factor = units.format_number(window.factor)
        name = f"{long} (alerts above {factor}× with {short})"
        targets.append(target(series.burn_rate(ctx, slo, long), ref, name))
        colour = ctx.spec.severities[window.severity].colour
        overrides.append(by_name(name, threshold_override(
            [{"color": OK_COLOUR, "value": None}, {"color": colour, "value": clean(window.factor)}]),
            dashed_thresholds()))
    return timeseries(
        id=ctx.ids(), title=f"{slo.title} burn rate per alerting window", unit="short",
        grid=ctx.place(width, height), targets=targets, overrides=overrides, minimum=0,
        description="How many times faster than sustainable the error budget is spent, over "
                    "each alerting window (1 = exactly used up by the end of the period). "
                    "Each series' dashed line is the factor its alert fires above, in the "
                    "alert's severity colour; the alert also needs the short window above it.",
    )


def budget_gauge(ctx: Context, slo: Slo, width: int, height: int) -> Any:
    period = series.window_label(slo.period)
    return gauge(
        id=ctx.ids(), title=f"{slo.title} budget consumed ({period})", unit="percentunit",
        grid=ctx.place(width, height), decimals=1,
        description=f"Share of the {period} error budget already spent (it is "
                    f"{units.format_percent(round(1 - slo.objective, 12))} of the events the "
                    f"{period} are expected to hold, projected from the traffic seen while "
                    f"the history is shorter than {period}). At 100 % the budget is exhausted "
                    "and the exhaustion alert fires, given at least the SLO's minimum traffic.",
        targets=[target(f"1 - {series.budget_remaining(ctx, slo)}")],
        steps=[{"color": OK_COLOUR, "value": None},
               {"color": series.exhaustion_colour(ctx), "value": 1}],
    )


def slo_row(ctx: Context, slo: Slo) -> list[Any]:
    period = series.window_label(slo.period)
    return [
        row(ctx, f"{slo.title}: {units.format_percent(slo.objective)} over {period}"),
        sli_stat(ctx, slo, 4, 8, title=f"SLI over {period}"),
        sli_timeseries(ctx, slo, 8, 8),
        burn_rate_panel(ctx, slo, 8, 8),
        budget_gauge(ctx, slo, 4, 8),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    ctx = Context(spec=spec, name="slo", ids=PanelIds())
    panels: list[Any] = []
    for slo in spec.slos.values():
        panels.extend(slo_row(ctx, slo))
    exporters = {s.exporter for s in spec.slos.values() if s.exporter}
    summary = (f"{len(spec.slos)} service level objective(s): SLI, burn rate per alerting "
               "window and error budget, from the recorded SLO series.")
    return assemble(spec, "slo", summary, panels, exporters, 'slo!=""' if spec.slos else None)
