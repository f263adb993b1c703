"""Queries over the SLO series the alert rules record (generator/rules/slo.py).

The rules record, per SLO and with the spec's selector labels but no job or
instance: `vigil_slo:error_ratio{slo, window}` and `vigil_slo:burn_rate{slo, window}`
for every alerting window and the whole period, `vigil_slo:error_budget_remaining:ratio`
and `vigil_slo:objective:ratio`. Window labels are Prometheus durations written by
`units.format_duration`, the function the rules use, so `30d` here is `30d` there.
Reading recorded series keeps a 30-day SLI cheap enough for a dashboard refresh.
"""

from __future__ import annotations

from generator import promql, units
from generator.dashboards.context import Context
from generator.model import Slo


def window_label(seconds: float) -> str:
    return units.format_duration(seconds)


def finest_window(slo: Slo) -> str:
    """The shortest recorded window: the SLI as it moves, for time series."""
    shortest = min([w.short for w in slo.windows] + [slo.period])
    return window_label(shortest)


def _series(ctx: Context, metric: str, slo: Slo, window: str | None = None) -> str:
    labels = promql.matchers({"slo": slo.name, **({"window": window} if window else {})})
    return ctx.query(f"{metric}{{{labels},$sel}}", None)


def error_ratio(ctx: Context, slo: Slo, window: str) -> str:
    return _series(ctx, "vigil_slo:error_ratio", slo, window)


def sli(ctx: Context, slo: Slo, window: str) -> str:
    return f"1 - {error_ratio(ctx, slo, window)}"


def burn_rate(ctx: Context, slo: Slo, window: str) -> str:
    return _series(ctx, "vigil_slo:burn_rate", slo, window)


def budget_remaining(ctx: Context, slo: Slo) -> str:
    return _series(ctx, "vigil_slo:error_budget_remaining:ratio", slo)


def objective(ctx: Context, slo: Slo) -> str:
    return _series(ctx, "vigil_slo:objective:ratio", slo)


def exhaustion_colour(ctx: Context) -> str:
    """The colour of an exhausted error budget (and of an SLI below its objective).

    The most severe severity's colour (red by default), whatever severity the slow
    budget-burn alert pages with: an exhausted budget is the objective missed, not a
    warning about it. Grafana colours by the last step a value reaches, so the panels
    put this colour on the base step below the objective or past 100 % consumed.
    """
    return ctx.worst_colour
