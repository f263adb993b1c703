"""Overview: what an executive and the on-call engineer look at first.

The headline SLO (the one named `availability`, else the first in the spec) against
its objective, its error budget and burn rate; a table of every SLO; alerts firing
by severity and by team from `ALERTS`; the reliability targets; and the health of the
monitoring itself (generator/rules/monitoring.py): scrape targets up and down, the
Watchdog, the firing `category="monitoring"` alerts, rule evaluation failures and
failed notifications. The Watchdog and the InfoInhibitor (severity `none`) always or
routinely fire, so the alert counts above leave them out.

MTTR and MTBF are shown as the spec's targets only. They cannot be derived honestly
from alert history: `ALERTS` exists only while an alert is pending or firing, so a
resolved alert leaves no trace of when it was repaired; `ALERTS_FOR_STATE` is kept
only for rules with a `for` clause; one incident raises several alerts while
maintenance windows silence others. The recovery point, by contrast, is measured:
it is the age of the newest transaction-log backup.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue, promql, units
from generator.dashboards import slo_series as series
from generator.dashboards.assemble import assemble
from generator.dashboards.context import Context, target
from generator.dashboards.layout import PanelIds
from generator.dashboards.navigation import panel_link
from generator.dashboards.panels.bargauge import bargauge
from generator.dashboards.panels.common import by_name, dashed_line, fixed_colour
from generator.dashboards.panels.gauge import gauge
from generator.dashboards.panels.row import row
from generator.dashboards.panels.stat import stat
from generator.dashboards.panels.table import merge, organize, table
from generator.dashboards.panels.timeseries import timeseries
from generator.dashboards.slo import objective_steps
from generator.dashboards.steps import OK_COLOUR, clean
from generator.model import Slo, Spec
from generator.rules import monitoring

FIRING = 'ALERTS{alertstate="firing",severity!="none",$sel}'
TARGETS = {
    "mttr": ("MTTR target", "Mean time to repair the spec aims below."),
    "mtbf": ("MTBF target", "Mean time between failures the spec aims above."),
    "rpo": ("Recovery point target", "Most data, in time, that may be lost."),
    "rto": ("Recovery time target", "Longest time a restore may take."),
}
NOT_MEASURED = (" The measured value is not shown: Prometheus keeps alert state only while an "
                "alert is pending or firing, so a resolved alert leaves no record of when it was "
                "repaired; ALERTS_FOR_STATE exists only for rules with a `for` clause; one "
                "incident raises several alerts and maintenance windows silence others. Measure "
                "it from incident records.")


def headline(spec: Spec) -> Slo | None:
    return spec.slos.get("availability") or next(iter(spec.slos.values()), None)


def _zero_filled(ctx: Context, label: str, values: list[str]) -> str:
    """Firing alerts per label value, with an explicit 0 for values that have none."""
    expr = f"sum by ({label}) ({ctx.query(FIRING, None)})"
    for value in values:
        expr += f' or label_replace(vector(0), "{label}", "{value}", "", "")'
    return expr


def _service_level(ctx: Context, slo: Slo) -> list[Any]:
    spec = ctx.spec
    period = series.window_label(slo.period)
    first = slo.windows[0] if slo.windows else None
    link = panel_link(spec, "slo", "SLO detail")
    panels: list[Any] = [
        row(ctx, "Service level"),
        stat(id=ctx.ids(), title=f"{slo.title} over {period}", unit="percentunit",
             grid=ctx.place(5, 7), decimals=3, links=[link],
             description=f"{slo.description} Objective {units.format_percent(slo.objective)}: "
                         "green at or above it.".strip(),
             targets=[target(series.sli(ctx, slo, period))], steps=objective_steps(ctx, slo)),
        timeseries(id=ctx.ids(), title=f"{slo.title} against its objective", unit="percentunit",
                   grid=ctx.place(10, 7),
                   description=f"{slo.title} over the rolling {period} period against the "
                               f"objective of {units.format_percent(slo.objective)} (dashed).",
                   targets=[target(series.sli(ctx, slo, period), "A", slo.title),
                            target(series.objective(ctx, slo), "B", "objective")],
                   overrides=[by_name("objective", fixed_colour("text"), dashed_line())],
                   steps=objective_steps(ctx, slo)),
        gauge(id=ctx.ids(), title="Error budget remaining", unit="percentunit",
              grid=ctx.place(4, 7), decimals=1, minimum=0, maximum=1,
              description=f"Share of the {period} error budget of {slo.title} still unspent; "
                          "at 0 the budget is exhausted.",
              targets=[target(series.budget_remaining(ctx, slo))],
              steps=[{"color": series.exhaustion_colour(ctx, slo), "value": None},
                     {"color": OK_COLOUR, "value": 0}]),
    ]
    if first is not None:
        long = series.window_label(first.long)
        panels.append(stat(
            id=ctx.ids(), title=f"Burn rate ({long})", unit="short", grid=ctx.place(5, 7),
            decimals=2, graph=True, links=[link],
            description=f"How fast {slo.title} spends its error budget over {long} (1 = exactly "
                        f"used up over {period}). Its page fires above "
                        f"{units.format_number(first.factor)}.",
            targets=[target(series.burn_rate(ctx, slo, long))],
            steps=[{"color": OK_COLOUR, "value": None},
                   {"color": spec.severities[first.severity].colour, "value": clean(first.factor)}]))
    return panels


def _all_slos(ctx: Context) -> Any:
    q = ctx.query
    # Aggregating by the identifying labels drops `__name__`, which differs per query and
    # would otherwise stop the merge from joining the three values of one SLO into one row.
    by = ", ".join(("slo", *ctx.selector_labels))
    objective = f"max by ({by}) ({q('vigil_slo:objective:ratio{$sel}', None)})"
    remaining = f"max by ({by}) ({q('vigil_slo:error_budget_remaining:ratio{$sel}', None)})"
    return table(
        id=ctx.ids(), title="All SLOs", unit="percentunit", decimals=3,
        grid=ctx.place(24, min(4 + len(ctx.spec.slos), 12)),
        description="Every SLO of the spec: objective, SLI over its period and error budget "
                    "left (negative when overspent).",
        targets=[
            target(objective, "A", instant=True, table=True),
            target(f"1 - (1 - {remaining}) * (1 - {objective})", "B", instant=True, table=True),
            target(remaining, "C", instant=True, table=True),
        ],
        transformations=[merge(), organize(
            ["Time"],
            {"slo": "SLO", "Value #A": "Objective", "Value #B": "SLI over period",
             "Value #C": "Budget remaining"})],
    )


def _alerts(ctx: Context) -> list[Any]:
    spec = ctx.spec
    teams = sorted({s.team for s in spec.signals.values()} | {s.team for s in spec.slos.values()})
    return [
        row(ctx, "Alerts"),
        stat(id=ctx.ids(), title="Alerts firing", unit="short", grid=ctx.place(4, 8),
             description="Alerts firing now, across all severities (from ALERTS).",
             targets=[target(f"count({ctx.query(FIRING, None)}) or vector(0)")],
             steps=[{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}],
             graph=True),
        bargauge(id=ctx.ids(), title="Firing by severity", unit="short", grid=ctx.place(10, 8),
                 description="Alerts firing now per severity, in the severities' spec colours.",
                 targets=[target(_zero_filled(ctx, "severity", list(spec.severities)), "A",
                                 "{{severity}}", instant=True)],
                 overrides=[by_name(s.name, fixed_colour(s.colour)) for s in spec.severities.values()]),
        bargauge(id=ctx.ids(), title="Firing by team", unit="short", grid=ctx.place(10, 8),
                 description="Alerts firing now per owning team.",
                 targets=[target(_zero_filled(ctx, "team", teams), "A", "{{team}}", instant=True)],
                 steps=[{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}]),
        table(id=ctx.ids(), title="Firing alerts", unit="none", grid=ctx.place(24, 8),
              description="Every alert firing now, with its severity, priority and team.",
              targets=[target(ctx.query(FIRING, None), "A", instant=True, table=True)],
              transformations=[organize(["Time", "Value", "__name__", "alertstate"])]),
    ]


def _reliability(ctx: Context) -> list[Any]:
    spec = ctx.spec
    panels: list[Any] = [row(ctx, "Reliability targets")]
    keys = [k for k in TARGETS if k in spec.reliability]
    width = 24 // (len(keys) + (1 if "rpo" in keys else 0) or 1)
    for key in keys:
        title, text = TARGETS[key]
        note = NOT_MEASURED if key in ("mttr", "mtbf") else (
            " The recovery time is only known from restore drills; it is not a metric.")
        if key == "rpo":
            note = " The measured recovery point is the panel beside this one."
        panels.append(stat(
            id=ctx.ids(), title=title, unit="s", grid=ctx.place(width, 5),
            description=f"{text} From reliability.{key} in {spec.source.as_posix()}.{note}",
            targets=[target(f"vector({units.format_number(spec.reliability[key])})")],
            colour_mode="none"))
        if key == "rpo":
            wal = catalogue.BUILTIN["wal_backup_age"]
            expr = promql.render(wal.expr, ctx.matchers(wal.exporter), promql.DASHBOARD_WINDOW)
            panels.append(stat(
                id=ctx.ids(), title="Recovery point now", unit="s", grid=ctx.place(width, 5),
                description="Age of the newest transaction-log backup on any host: the data "
                            "that would be lost if the database were lost now.",
                targets=[target(f"max({expr})")],
                steps=[{"color": OK_COLOUR, "value": None},
                       {"color": ctx.worst_colour, "value": spec.reliability[key]}]))
    return panels


def _monitoring_health(ctx: Context) -> list[Any]:
    spec = ctx.spec
    jobs = promql.quote("|".join(promql.regex_literal(j) for j in monitoring.scrape_jobs(spec)))
    up = f"up{{job=~{jobs},$sel}}"
    prometheus = promql.quote(spec.monitoring.jobs["prometheus"])
    alertmanager = promql.quote(spec.monitoring.jobs["alertmanager"])
    watchdog = f'ALERTS{{alertname="{monitoring.WATCHDOG}",alertstate="firing",$sel}}'
    own = f'ALERTS{{category="{monitoring.CATEGORY}",alertstate="firing",$sel}}'
    bad = [{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}]
    return [
        row(ctx, "Monitoring health"),
        stat(id=ctx.ids(), title="Targets up", unit="short", grid=ctx.place(4, 6),
             description="Scrape targets of the generated jobs (exporters, Prometheus, "
                         "Alertmanager) that answered their last scrape.",
             targets=[target(f"count({ctx.query(up, None)} == 1) or vector(0)")],
             steps=[{"color": ctx.worst_colour, "value": None}, {"color": OK_COLOUR, "value": 1}]),
        stat(id=ctx.ids(), title="Targets down", unit="short", grid=ctx.place(4, 6),
             description="Scrape targets Prometheus cannot scrape now; TargetDown fires for "
                         "each after monitoring.target_down.for.",
             targets=[target(f"count({ctx.query(up, None)} == 0) or vector(0)")], steps=bad),
        stat(id=ctx.ids(), title="Watchdog", unit="none", grid=ctx.place(4, 6),
             description="1 while the always-firing Watchdog fires, i.e. Prometheus evaluates "
                         "its rules. The heartbeat service pages when Alertmanager stops "
                         "posting it; 0 here means the pipeline is broken.",
             targets=[target(f"count({ctx.query(watchdog, None)}) or vector(0)")],
             steps=[{"color": ctx.worst_colour, "value": None}, {"color": OK_COLOUR, "value": 1}]),
        table(id=ctx.ids(), title="Monitoring alerts firing", unit="none", grid=ctx.place(12, 6),
              description="Every alert about the monitoring itself (category=\"monitoring\") "
                          "firing now; the Watchdog is always among them.",
              targets=[target(ctx.query(own, None), "A", instant=True, table=True)],
              transformations=[organize(["Time", "Value", "__name__", "alertstate", "category"])]),
        timeseries(id=ctx.ids(), title="Rule evaluation failures", unit="short",
                   grid=ctx.place(12, 7),
                   description="Failed rule evaluations per rule group: each failing group's "
                               "alerts cannot fire (PrometheusRuleFailures).",
                   targets=[target(ctx.query(
                       "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total"
                       f"{{job={prometheus},$sel}}[$window]))", None), "A", "{{rule_group}}")]),
        timeseries(id=ctx.ids(), title="Notification failures", unit="short",
                   grid=ctx.place(12, 7),
                   description="Notifications Alertmanager failed to deliver, per integration "
                               "(AlertmanagerNotificationsFailing), and alerts Prometheus "
                               "failed to send to Alertmanager.",
                   targets=[target(ctx.query(
                       "sum by (integration) (increase(alertmanager_notifications_failed_total"
                       f"{{job={alertmanager},$sel}}[$window]))", None), "A", "{{integration}}"),
                       target(ctx.query(
                           "sum(increase(prometheus_notifications_errors_total"
                           f"{{job={prometheus},$sel}}[$window]))", None), "B",
                           "Prometheus → Alertmanager")]),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    ctx = Context(spec=spec, name="overview", ids=PanelIds())
    panels: list[Any] = []
    slo = headline(spec)
    if slo is not None:
        panels.extend(_service_level(ctx, slo))
        panels.append(_all_slos(ctx))
    panels.extend(_alerts(ctx))
    if spec.reliability:
        panels.extend(_reliability(ctx))
    panels.extend(_monitoring_health(ctx))
    exporters = {"host"} if "rpo" in spec.reliability else set()
    return assemble(spec, "overview", "Service level, error budget, alerts and reliability "
                    "targets at a glance; links lead to every other dashboard.",
                    panels, exporters | set(spec.jobs), alert_scope="")
